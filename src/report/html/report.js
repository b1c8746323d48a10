// moneytrail report: pan (drag), zoom (wheel, buttons) and hover tooltips for the graph view.
// Hand-written, no dependencies; node text comes from escaped JSON and is set as textContent.
(function () {
  'use strict';
  var svg = document.getElementById('mt-graph');
  var dataEl = document.getElementById('mt-graph-data');
  var tip = document.getElementById('mt-tip');
  if (!svg || !dataEl || !tip) { return; }
  var data = JSON.parse(dataEl.textContent);
  var initial = svg.getAttribute('data-initial');

  function box() {
    var v = svg.getAttribute('viewBox').split(' ').map(Number);
    return { x: v[0], y: v[1], w: v[2], h: v[3] };
  }
  function set(b) {
    svg.setAttribute('viewBox', [b.x, b.y, b.w, b.h].map(function (n) { return +n.toFixed(2); }).join(' '));
  }
  // the point of the drawing under a client position (the viewBox is scaled to fit, centred)
  function toSvg(cx, cy) {
    var r = svg.getBoundingClientRect(), b = box();
    var s = Math.max(b.w / r.width, b.h / r.height);
    var ox = (r.width * s - b.w) / 2, oy = (r.height * s - b.h) / 2;
    return { x: b.x - ox + (cx - r.left) * s, y: b.y - oy + (cy - r.top) * s, s: s };
  }
  function zoom(f, px, py) {
    var b = box();
    if (px === undefined) { px = b.x + b.w / 2; py = b.y + b.h / 2; }
    var w = b.w * f, h = b.h * f;
    if (w < 20 || w > 1e7) { return; }
    set({ x: px - (px - b.x) * f, y: py - (py - b.y) * f, w: w, h: h });
  }
  svg.addEventListener('wheel', function (e) {
    e.preventDefault();
    var p = toSvg(e.clientX, e.clientY);
    zoom(e.deltaY < 0 ? 0.8 : 1.25, p.x, p.y);
  }, { passive: false });
  document.getElementById('mt-zoom-in').addEventListener('click', function () { zoom(0.8); });
  document.getElementById('mt-zoom-out').addEventListener('click', function () { zoom(1.25); });
  document.getElementById('mt-zoom-reset').addEventListener('click', function () {
    svg.setAttribute('viewBox', initial);
  });

  var drag = null;
  svg.addEventListener('mousedown', function (e) {
    if (e.button !== 0) { return; }
    drag = { x: e.clientX, y: e.clientY, b: box(), s: toSvg(e.clientX, e.clientY).s };
    svg.classList.add('dragging');
  });
  window.addEventListener('mousemove', function (e) {
    if (!drag) { return; }
    var b = drag.b;
    set({ x: b.x - (e.clientX - drag.x) * drag.s, y: b.y - (e.clientY - drag.y) * drag.s, w: b.w, h: b.h });
  });
  window.addEventListener('mouseup', function () {
    drag = null;
    svg.classList.remove('dragging');
  });

  function describe(n) {
    var lines = [n.label];
    if (n.entity) { lines.push('entity: ' + n.entity); }
    lines.push('category: ' + n.category + '   role: ' + n.role);
    if (n.hop !== null && n.hop !== undefined) { lines.push('hops from a seed: ' + n.hop); }
    if (n.members > 1) { lines.push('addresses: ' + n.members); }
    if (n['in'].length) { lines.push('tainted in: ' + n['in'].join(', ')); }
    if (n.out.length) { lines.push('tainted out: ' + n.out.join(', ')); }
    return lines.join('\n');
  }
  svg.addEventListener('mouseover', function (e) {
    var g = e.target && e.target.closest ? e.target.closest('g.n') : null;
    if (!g) { return; }
    var n = data.nodes[Number(g.getAttribute('data-i'))];
    if (!n) { return; }
    tip.textContent = describe(n);
    var wrap = svg.parentNode.getBoundingClientRect();
    tip.style.left = Math.max(0, (e.clientX || wrap.left) - wrap.left + 12) + 'px';
    tip.style.top = Math.max(0, (e.clientY || wrap.top) - wrap.top + 12) + 'px';
    tip.style.display = 'block';
  });
  svg.addEventListener('mouseout', function (e) {
    var g = e.target && e.target.closest ? e.target.closest('g.n') : null;
    if (g && !(e.relatedTarget && g.contains(e.relatedTarget))) { tip.style.display = 'none'; }
  });
})();
