/* zimage-site serve: after a reload, scroll back to the section that was being read. */
(function () {
  var key = "zimage-site-serve:" + location.pathname;
  function anchor() {  // the first section or heading that starts in view, else the one we are in
    var above = null, els = document.querySelectorAll("main [id]");
    for (var i = 0; i < els.length; i++) {
      var r = els[i].getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.top >= 0) return r.top < innerHeight ? {id: els[i].id, top: r.top} : above;
      above = {id: els[i].id, top: r.top};
    }
    return above;
  }
  // a page reloaded again before it finished loading (and restoring its place) keeps the place
  // saved before: what it shows then is not where the reader was
  var loaded = false;
  addEventListener("load", function () { loaded = true; });
  addEventListener("pagehide", function () {
    if (!loaded) return;
    try { sessionStorage.setItem(key, JSON.stringify({a: anchor(), y: scrollY})); } catch (e) {}
  });
  var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  var saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) {}
  if (!saved || !nav || nav.type !== "reload") return;
  if ("scrollRestoration" in history) history.scrollRestoration = "manual";
  // lay out the whole page (no content-visibility skipping), so that positions are exact
  var full = document.createElement("style");
  full.textContent = "* { content-visibility: visible !important; }";
  document.head.appendChild(full);
  function restore() {
    var el = saved.a && document.getElementById(saved.a.id);
    scrollTo(0, el ? el.getBoundingClientRect().top + scrollY - saved.a.top : saved.y);
  }
  restore();
  addEventListener("load", restore);
})();
