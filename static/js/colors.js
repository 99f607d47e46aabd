// Label colours: templates put a label's colour in data-color, never in a style attribute
// (the Content-Security-Policy forbids inline style). Only #rrggbb is applied; anything
// else keeps the stylesheet's default, whatever the database holds.
//
// A colour painted behind text gets a text colour too (--label-text): black or white,
// whichever contrasts more by WCAG relative luminance. One of the two always reaches
// 4.5:1 (the worst case, a mid grey, still gives about 4.6:1).
"use strict";
window.QuorumColors = (() => {
  const HEX = /^#[0-9a-fA-F]{6}$/;

  function luminance(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  function textFor(hex) {
    return contrast(hex, "#000000") >= contrast(hex, "#ffffff") ? "#000000" : "#ffffff";
  }

  function paint(node, color) {
    if (!HEX.test(color || "")) return;
    node.style.setProperty("--label-color", color);
    node.style.setProperty("--label-text", textFor(color));
  }

  function apply(root = document) {
    for (const node of root.querySelectorAll("[data-color]")) paint(node, node.dataset.color);
  }

  apply();
  return { apply, paint, textFor, contrast };
})();
