// Label colours: templates put a label's colour in data-color, never in a style attribute
// (the Content-Security-Policy forbids inline style). Only #rrggbb is applied; anything
// else keeps the stylesheet's default, whatever the database holds.
"use strict";
(() => {
  const HEX = /^#[0-9a-fA-F]{6}$/;
  for (const node of document.querySelectorAll("[data-color]")) {
    const color = node.dataset.color;
    if (HEX.test(color)) node.style.setProperty("--label-color", color);
  }
})();
