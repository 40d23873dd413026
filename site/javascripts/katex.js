// Render the math that pymdownx.arithmatex (generic mode) leaves in the page: \( ... \) inside
// <span class="arithmatex"> and \[ ... \] inside <div class="arithmatex">, with the KaTeX copy
// vendored in docs/assets/katex (no CDN).
(function () {
  "use strict";

  function render() {
    document.querySelectorAll(".arithmatex").forEach(function (element) {
      var tex = element.textContent.trim();
      var display = element.tagName === "DIV";
      tex = tex.replace(/^\\[([]/, "").replace(/\\[)\]]$/, "");
      katex.render(tex, element, { displayMode: display, throwOnError: false });
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(render); // Material for MkDocs: also after instant navigation
  } else {
    document.addEventListener("DOMContentLoaded", render);
  }
})();
