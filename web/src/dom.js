// Building the page's elements. Everything a recording holds (its text,
// user names, host names, commands, log messages) reaches the page only as
// text nodes and attribute values set here, never as markup.

import * as fmt from './format.js';

const SVG = 'http://www.w3.org/2000/svg';

/** Sets attributes, event handlers (`on` + name) and children on `node`. */
function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element: `h('td', {'data-tt': 'user'}, name)`. */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

/** Replaces every child of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return fill(node, {}, children);
}

/**
 * Puts a verdict of `ls --json --verify` (`null`: none; `{ error }`: the
 * error that kept it away) into `cell`, as text, with its class and
 * `data-verdict`.
 */
export function showVerdict(cell, verdict) {
  if (verdict?.error !== undefined) {
    cell.textContent = 'not verified';
    cell.title = verdict.error;
    cell.dataset.verdict = 'error';
    return;
  }
  const shown = fmt.verdictLabel(verdict);
  cell.textContent = shown.label;
  cell.title = shown.title;
  cell.dataset.verdict = verdict ? String(verdict.verdict) : 'none';
  cell.className = `tt-verdict tt-verdict-${shown.kind}`;
}
