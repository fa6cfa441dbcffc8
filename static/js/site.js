// Progressive enhancements. The page works without them: every link, the FAQ and the
// language switch are plain HTML. Loaded with `defer`; no framework, no dependencies.
(() => {
  "use strict";

  // ------------------------------------------------------------ language switch keeps the section
  const switches = document.querySelectorAll("a[data-lang-switch]");
  const setHash = (hash) => {
    for (const a of switches) {
      const url = new URL(a.href, location.href);
      url.hash = hash && hash !== "#" ? hash : "";
      a.href = url.href;
    }
  };
  // The section being read: the last one whose top has passed a line 30% down the viewport.
  const sections = [...document.querySelectorAll("main > section[id]")];
  const reading = () => {
    const line = innerHeight * 0.3;
    let found = null;
    for (const s of sections) {
      if (s.getBoundingClientRect().top <= line) found = s;
      else break;
    }
    return found && found !== sections[0] ? "#" + found.id : "";
  };
  for (const a of switches) {
    // decided at the click, so a smooth scroll still under way or a stale #hash cannot mislead it
    a.addEventListener("click", () => setHash(reading()));
  }

  // ------------------------------------------------------------ navigation highlights the section read
  const nav = document.querySelector(".site-nav ul");
  const links = new Map([...document.querySelectorAll("a[data-nav]")].map((a) => [a.dataset.nav, a]));
  const mark = (id) => {
    links.forEach((a, key) => {
      if (key === id) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
    const a = links.get(id);
    // keep the active item visible in the sideways-scrolling strip (phones), without moving the page
    if (a && nav && nav.scrollWidth > nav.clientWidth) {
      const left = a.offsetLeft - (nav.clientWidth - a.offsetWidth) / 2;
      const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
      nav.scrollTo({ left: Math.max(0, left), behavior: still ? "auto" : "smooth" });
    }
  };
  if ("IntersectionObserver" in window && sections.length) {
    const visible = new Set();
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) visible.add(e.target);
        else visible.delete(e.target);
      }
      const first = sections.find((s) => visible.has(s));
      if (!first) return;
      setHash(first === sections[0] ? "" : "#" + first.id);
      mark(first.id);
    }, { rootMargin: "-30% 0px -60% 0px" });
    sections.forEach((s) => io.observe(s));
  }
  addEventListener("hashchange", () => setHash(location.hash));
  if (location.hash) setHash(location.hash);

  // ------------------------------------------------------------ comparison sets: tabs on narrow screens
  // The markup is a plain grid (and stays one without JavaScript, or on wide screens). On a narrow
  // screen the CSS shows one image and the tab bar; here the tabs get their ARIA state and keys.
  const narrow = matchMedia("(max-width: 39.99em)");
  const compares = [...document.querySelectorAll(".zcompare")].map((box) => ({
    box,
    tabs: [...box.querySelectorAll('.zcompare__tabs [role="tab"]')],
    panels: [...box.querySelectorAll(".zcompare__grid > .zimg")],
  })).filter((c) => c.tabs.length && c.tabs.length === c.panels.length);
  const select = (c, index, focus) => {
    c.box.dataset.active = String(index);
    c.tabs.forEach((tab, i) => {
      const on = i === index;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      c.panels[i].classList.toggle("is-active", on);
    });
    if (focus) c.tabs[index].focus();
  };
  const enhance = () => {
    for (const c of compares) {
      c.panels.forEach((panel, i) => {
        if (narrow.matches) {
          panel.setAttribute("role", "tabpanel");
          panel.setAttribute("aria-labelledby", c.tabs[i].id);
          panel.tabIndex = 0;
        } else {
          panel.removeAttribute("role");
          panel.removeAttribute("aria-labelledby");
          panel.removeAttribute("tabindex");
        }
      });
    }
  };
  for (const c of compares) {
    select(c, 0, false);
    c.tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(c, i, false));
      tab.addEventListener("keydown", (e) => {
        const n = c.tabs.length;
        const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: n - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        select(c, (to + n) % n, true);
      });
    });
  }
  enhance();
  narrow.addEventListener("change", enhance);

  // ------------------------------------------------------------ long prompts: folded to a few lines, "show all" unfolds
  for (const button of document.querySelectorAll("button.zimg__more")) {
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      button.parentElement.classList.toggle("is-open", open);
      [button.textContent, button.dataset.other] = [button.dataset.other, button.textContent];
    });
  }

  // ------------------------------------------------------------ copy buttons
  const live = document.createElement("p");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  document.body.append(live);

  const fallbackCopy = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.cssText = "position:fixed;top:0;left:0;opacity:0;pointer-events:none";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch { ok = false; }
    area.remove();
    if (!ok) throw new Error("copy refused");
  };
  const copy = async (text) => {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return; } catch { /* fall through */ }
    }
    fallbackCopy(text);
  };

  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    const label = button.textContent;
    let timer = 0;
    button.addEventListener("click", async () => {
      let message;
      try {
        await copy(button.dataset.copy);
        message = button.dataset.copied;
        button.dataset.state = "done";
      } catch {
        message = button.dataset.failed;
        button.dataset.state = "failed";
      }
      button.textContent = message;
      live.textContent = message;
      clearTimeout(timer);
      timer = setTimeout(() => {
        button.textContent = label;
        delete button.dataset.state;
        live.textContent = "";
      }, 1800);
    });
  }
})();
