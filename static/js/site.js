// Progressive enhancements: the page works without them.
(() => {
  "use strict";

  // The language switch keeps the reader's section: carry the current #section over.
  const switches = document.querySelectorAll("[data-lang-switch]");
  const setHash = (hash) => switches.forEach((a) => {
    const url = new URL(a.href, location.href);
    url.hash = hash || "";
    a.href = url.href;
  });

  // Highlight the section being read in the navigation, and remember it for the switch.
  const links = new Map([...document.querySelectorAll("[data-nav]")].map((a) => [a.dataset.nav, a]));
  const sections = [...document.querySelectorAll("main section[id]")];
  if ("IntersectionObserver" in window && sections.length) {
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        setHash("#" + e.target.id);
        links.forEach((a, id) => {
          if (id === e.target.id) a.setAttribute("aria-current", "true");
          else a.removeAttribute("aria-current");
        });
      }
    }, { rootMargin: "-45% 0px -50% 0px" });
    sections.forEach((s) => io.observe(s));
  }
  if (location.hash) setHash(location.hash);
  addEventListener("hashchange", () => setHash(location.hash));

  // Copy buttons: copy their data-copy text.
  document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = document.documentElement.lang.startsWith("zh") ? "已复制" : "Copied";
      } catch {
        button.textContent = "×";
      }
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  });
})();
