/* zimage-site serve: live reload. Loads livereload.js from this server. */
(function () {
  var s = document.createElement("script");
  s.src = "/livereload.js?port=" + (location.port || (location.protocol === "https:" ? 443 : 80));
  document.head.appendChild(s);
})();
