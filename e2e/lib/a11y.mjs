// Accessibility basics checked in the browser: labelled form controls, WCAG text contrast,
// and keyboard-only use of the card form.

import assert from 'node:assert/strict';

/** Visible input/select/textarea elements without an accessible label (as descriptions). */
export function unlabelledControls(page) {
  return page.evaluate(() => {
    const visible = (el) => {
      const s = getComputedStyle(el);
      return el.getClientRects().length > 0 && s.visibility !== 'hidden' && s.display !== 'none';
    };
    const hasText = (el) => !!el && el.textContent.trim().length > 0;
    const describe = (el) => `<${el.tagName.toLowerCase()}${el.id ? ` id="${el.id}"` : ''}${el.name ? ` name="${el.name}"` : ''}>`;
    const skip = new Set(['hidden', 'submit', 'button', 'reset', 'image']);
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.tagName === 'INPUT' && skip.has(el.type)) continue;
      if (!visible(el)) continue;
      const aria = (el.getAttribute('aria-label') || '').trim();
      const labelledBy = (el.getAttribute('aria-labelledby') || '')
        .split(/\s+/)
        .filter(Boolean)
        .map((id) => document.getElementById(id));
      const forLabel = el.id
        ? [...document.querySelectorAll('label[for]')].find((l) => l.htmlFor === el.id)
        : null;
      const wrapping = el.closest('label');
      const ok = aria || (labelledBy.length && labelledBy.every(hasText)) || hasText(forLabel) || hasText(wrapping);
      if (!ok) out.push(describe(el));
    }
    return out;
  });
}

/**
 * Elements with direct visible text whose contrast against their background is below WCAG
 * AA (4.5:1; 3:1 for large text, ≥ 24px or ≥ 18.66px bold). The background is the nearest
 * opaque background-color up the tree, with translucent ones composited over it (white at
 * the root). Text over a background image is skipped (cannot be computed). Returns
 * { failures: [...], checked: n }.
 */
export function lowContrastText(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const lum = ({ r, g, b }) => {
      const ch = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
    };
    const ratio = (a, b) => {
      const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    // Background behind `el`: translucent layers composited down to the first opaque one.
    const background = (el) => {
      const layers = [];
      for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
        const s = getComputedStyle(n);
        if (s.backgroundImage && s.backgroundImage !== 'none') return null;
        const c = parse(s.backgroundColor);
        if (c && c.a > 0) {
          layers.push(c);
          if (c.a >= 1) break;
        }
      }
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      for (const layer of layers.reverse()) bg = over(layer, bg);
      return bg;
    };
    const failures = [];
    let checked = 0;
    for (const el of document.body.querySelectorAll('*')) {
      if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION'].includes(el.tagName)) continue;
      const direct = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!direct) continue;
      const s = getComputedStyle(el);
      if (el.getClientRects().length === 0 || s.visibility === 'hidden' || Number(s.opacity) === 0) continue;
      if (el.closest(':disabled')) continue; // WCAG exempts inactive controls
      const bg = background(el);
      const fg = parse(s.color);
      if (!bg || !fg) continue;
      const size = parseFloat(s.fontSize);
      const bold = Number(s.fontWeight) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      const need = large ? 3 : 4.5;
      const r = ratio(over(fg, bg), bg);
      checked++;
      if (r < need) {
        const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ');
        failures.push(
          `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> "${text.slice(0, 40)}" ` +
            `${s.color} on rgb(${Math.round(bg.r)}, ${Math.round(bg.g)}, ${Math.round(bg.b)}): ${r.toFixed(2)}:1 < ${need}:1`,
        );
      }
    }
    return { failures, checked };
  });
}

/** Asserts labelled controls and sufficient contrast on the current page. */
export async function assertAccessibleBasics(page, what) {
  assert.deepEqual(await unlabelledControls(page), [], `${what}: every visible form control has a label`);
  const { failures, checked } = await lowContrastText(page);
  assert.ok(checked > 0, `${what}: some text was checked for contrast`);
  assert.deepEqual(failures, [], `${what}: text contrast`);
}

/** The id (or tag) of the element focused after each Tab press, starting from the top. */
export async function tabOrder(page, presses = 40) {
  await page.evaluate(() => {
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  const order = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    order.push(
      await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return 'body';
        return el.id ? `#${el.id}` : el.tagName.toLowerCase();
      }),
    );
  }
  return order;
}

/**
 * Keyboard only: Tab from the top, typing into each field of `values` (selector → text)
 * when it gets focus; throws if a field is never reached. Focus stays in the last field typed.
 */
export async function typeByKeyboard(page, values) {
  await page.evaluate(() => document.activeElement?.blur());
  const pending = new Map(Object.entries(values));
  const focused = () => page.evaluate(() => (document.activeElement?.id ? `#${document.activeElement.id}` : ''));
  for (let i = 0; i < 60 && pending.size > 0; i++) {
    const id = await focused();
    if (pending.has(id)) {
      // Type, then look again before tabbing: a page may move focus on by itself.
      await page.keyboard.type(pending.get(id));
      pending.delete(id);
      if ((await focused()) !== id) continue;
    }
    await page.keyboard.press('Tab');
  }
  assert.equal(pending.size, 0, `Tab never reached ${[...pending.keys()].join(', ')}`);
}
