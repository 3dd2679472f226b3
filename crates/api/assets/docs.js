// Payments API reference: renders /payment/openapi.json (OpenAPI 3.1, utoipa).
// CSP-friendly: no inline code, no innerHTML. Spec text only ever reaches the DOM
// through Text nodes (Element.append(string) / textContent) or attribute values.
'use strict';
(() => {
  const SPEC_URL = '/payment/openapi.json';
  const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
  const SCHEMA_PREFIX = '#/components/schemas/';
  const CONSTRAINTS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf',
    'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties',
    'maxProperties', 'default', 'readOnly', 'writeOnly', 'deprecated'];
  const COMBOS = { allOf: 'All of', oneOf: 'One of', anyOf: 'Any of' };
  const $ = (id) => document.getElementById(id);
  const narrow = window.matchMedia('(max-width: 800px)');
  let spec = {};
  const ops = [];
  const groups = [];

  // Tiny DOM builder. Strings become Text nodes, so spec data is never parsed as HTML.
  function h(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    return add(e, kids);
  }
  function add(e, kids) {
    for (const k of [kids].flat(Infinity)) {
      if (k == null || k === false || k === '') continue;
      e.append(k instanceof Node ? k : String(k));
    }
    return e;
  }
  const slug = (s) => String(s).replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
  const unescapePtr = (p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~');
  const refName = (ref) => unescapePtr(String(ref).split('/').pop());
  const json = (v) => JSON.stringify(v, null, 2);
  const badge = (text, cls) => h('span', { class: 'badge ' + (cls || '') }, text);
  const reqBadge = () => h('span', { class: 'req' }, 'required');
  const methodBadge = (m) => h('span', { class: 'method m-' + m }, m.toUpperCase());
  // Interleave spaces so inline runs (name, type, format, badges) can wrap on narrow screens.
  const spaced = (xs) => xs.flat().filter(Boolean).flatMap((x, i) => (i ? [' ', x] : [x]));

  function resolve(ref) {
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return undefined;
    try {
      return ref.slice(2).split('/').reduce((o, p) => (o == null ? undefined : o[unescapePtr(p)]), spec);
    } catch (_) { return undefined; }
  }
  // Follow $ref chains (parameters, responses, request bodies, examples); siblings override.
  function deref(obj) {
    for (let i = 0; obj && typeof obj === 'object' && obj.$ref && i < 16; i++) {
      const { $ref, ...rest } = obj;
      obj = { ...(resolve($ref) || {}), ...rest };
    }
    return obj && typeof obj === 'object' ? obj : {};
  }
  // Plain-text rendering of (possibly Markdown) descriptions: one <p> per blank-line block.
  const prose = (text, cls) => (typeof text === 'string' && text.trim()
    ? text.trim().split(/\n\s*\n/).map((p) => h('p', { class: cls || 'prose' }, p)) : []);

  function schemaLink(ref) {
    const name = refName(ref);
    return ref.startsWith(SCHEMA_PREFIX)
      ? h('a', { class: 'ref', href: '#schema-' + slug(name) }, name) : h('code', null, name);
  }

  function typeText(s) {
    if (s === true || s == null || typeof s !== 'object') return s === false ? 'never' : 'any';
    if (s.$ref) return refName(s.$ref);
    const wrap = (t) => (/[|&]/.test(t) ? '(' + t + ')' : t);
    const one = (t) => (t === 'array' ? wrap(typeText(s.items === undefined ? true : s.items)) + '[]' : t);
    const alts = s.oneOf || s.anyOf;
    let t;
    if (Array.isArray(s.type)) t = s.type.map(one).join(' | ');
    else if (s.type) t = one(s.type);
    else if (Array.isArray(alts)) t = alts.map(typeText).map(wrap).join(' | ');
    else if (Array.isArray(s.allOf)) t = s.allOf.map(typeText).map(wrap).join(' & ');
    else if (Array.isArray(s.enum)) t = 'enum';
    else if ('const' in s) t = 'const';
    else if (s.properties) t = 'object';
    else t = 'any';
    if (s.nullable === true && !/\bnull\b/.test(t)) t += ' | null'; // OpenAPI 3.0 style
    return t;
  }
  function typeCell(s) {
    if (s && s.$ref) return schemaLink(s.$ref);
    return spaced([h('span', { class: 'type' }, typeText(s)), s && s.format ? h('span', { class: 'fmt' }, s.format) : null]);
  }

  const fact = (k, v) => h('span', { class: 'fact' }, h('span', { class: 'k' }, k + ': '), v);
  const codeList = (vals) => vals.flatMap((v, i) => [i ? ', ' : null, h('code', null, JSON.stringify(v))]);
  const exampleBox = (label, v) => h('div', { class: 'example' }, h('span', { class: 'k' }, label),
    h('pre', null, h('code', null, json(v))));
  function factsBlock(s) {
    if (!s || typeof s !== 'object') return null;
    const out = [];
    if (Array.isArray(s.enum)) out.push(fact('enum', codeList(s.enum)));
    if ('const' in s) out.push(fact('const', codeList([s.const])));
    for (const k of CONSTRAINTS) if (k in s) out.push(fact(k, codeList([s[k]])));
    const ex = Array.isArray(s.examples) ? s.examples : ('example' in s ? [s.example] : []);
    ex.forEach((v, i) => out.push(exampleBox(ex.length > 1 ? `Example ${i + 1}` : 'Example', v)));
    return out.length ? h('div', { class: 'facts' }, out) : null;
  }

  // Schema tree. `seen` holds the $refs on the current path so cycles render as a link.
  // Children of collapsed <details> are built lazily on first open.
  function schemaNode(s, opts = {}) {
    let seen = opts.seen || new Set();
    const row = [];
    if (opts.name != null) row.push(h('code', { class: 'pname' }, opts.name));
    if (s && typeof s === 'object' && typeof s.$ref === 'string') {
      const target = resolve(s.$ref);
      row.push(schemaLink(s.$ref));
      if (!target || seen.has(s.$ref)) {
        row.push(badge(target ? 'recursive' : 'unresolved'), opts.required ? reqBadge() : null);
        return h('div', { class: 'node leaf' }, h('div', { class: 'row' }, spaced(row)), prose(s.description, 'desc'));
      }
      const { $ref, ...rest } = s;
      s = { ...target, ...rest };
      seen = new Set(seen).add($ref);
    }
    s = s && typeof s === 'object' ? s : {};
    row.push(h('span', { class: 'type' }, typeText(s)));
    if (s.format) row.push(h('span', { class: 'fmt' }, s.format));
    if (opts.required) row.push(reqBadge());
    if (s.deprecated) row.push(badge('deprecated'));
    const info = [prose(s.description, 'desc'), factsBlock(s)];
    const kids = childThunks(s, seen);
    if (!kids.length) return h('div', { class: 'node leaf' }, h('div', { class: 'row' }, spaced(row)), info);
    const d = h('details', { class: 'node' }, h('summary', { class: 'row' }, spaced(row)), info);
    let filled = false;
    const fill = () => {
      if (!filled) { filled = true; d.append(h('div', { class: 'kids' }, kids.map((k) => k()))); }
    };
    if (opts.open) { d.open = true; fill(); } else d.addEventListener('toggle', fill);
    return d;
  }
  function childThunks(s, seen) {
    const kids = [];
    const req = Array.isArray(s.required) ? s.required : [];
    const props = s.properties && typeof s.properties === 'object' ? s.properties : {};
    for (const [k, v] of Object.entries(props)) {
      kids.push(() => schemaNode(v, { name: k, required: req.includes(k), seen }));
    }
    const ap = s.additionalProperties;
    if (ap && typeof ap === 'object') kids.push(() => schemaNode(ap, { name: '[key: string]', seen }));
    const it = s.items;
    if (it && typeof it === 'object' && !Object.keys(it).every((k) => k === 'type' || k === 'format')) {
      kids.push(() => schemaNode(it, { name: '[item]', seen }));
    }
    for (const [kw, label] of Object.entries(COMBOS)) {
      if (!Array.isArray(s[kw])) continue;
      kids.push(() => h('div', { class: 'combo' }, h('p', { class: 'combo-label' }, label),
        s[kw].map((v) => schemaNode(v, { seen }))));
    }
    return kids;
  }

  function securityBlock(op) {
    const reqs = Array.isArray(op.security) ? op.security : spec.security;
    if (!Array.isArray(reqs)) return null;
    const schemes = (spec.components || {}).securitySchemes || {};
    const items = !reqs.length ? [h('li', null, 'None (public endpoint)')] : reqs.map((r) => {
      const names = Object.keys(r || {});
      if (!names.length) return h('li', null, 'None (authentication optional)');
      return h('li', null, names.map((n, i) => {
        const sc = deref(schemes[n]);
        const d = [sc.type, sc.scheme, sc.bearerFormat, sc.in && sc.name ? `${sc.in}: ${sc.name}` : null];
        const scopes = Array.isArray(r[n]) && r[n].length ? ` — scopes: ${r[n].join(', ')}` : '';
        return [i ? ' and ' : null, h('code', null, n), d.some(Boolean) ? ` (${d.filter(Boolean).join(', ')})` : '',
          scopes, sc.description ? h('span', { class: 'desc-inline' }, ' — ' + sc.description) : null];
      }));
    });
    return [h('h4', null, 'Security'), reqs.length > 1 ? h('p', { class: 'muted' }, 'Any one of:') : null,
      h('ul', { class: 'security' }, items)];
  }

  function paramsBlock(o) {
    const map = new Map();
    const all = [...(o.pathItem.parameters || []), ...(o.op.parameters || [])].map(deref);
    for (const p of all) map.set(p.in + ':' + p.name, p); // operation-level overrides path-level
    if (!map.size) return null;
    const rows = [...map.values()].map((p) => {
      const s = p.schema || (Object.values(p.content || {})[0] || {}).schema;
      const rs = deref(s);
      return h('tr', null, h('th', { scope: 'row' }, h('code', null, p.name)), h('td', { 'data-label': 'In' }, p.in),
        h('td', { 'data-label': 'Required' }, p.required ? 'yes' : 'no'), h('td', { 'data-label': 'Type' }, typeCell(s)),
        h('td', null, prose(p.description || rs.description, 'cell'), p.deprecated ? badge('deprecated') : null,
          factsBlock('example' in p ? { ...rs, example: p.example } : rs)));
    });
    const head = h('tr', null, ['Name', 'In', 'Required', 'Type', 'Description'].map((c) => h('th', { scope: 'col' }, c)));
    return [h('h4', null, 'Parameters'),
      h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': `Parameters of ${o.method.toUpperCase()} ${o.path}` },
        h('table', null, h('thead', null, head), h('tbody', null, rows)))];
  }

  function contentBlock(content) {
    const entries = Object.entries(content || {});
    if (!entries.length) return h('p', { class: 'muted' }, 'No body.');
    return entries.map(([mt, m0]) => {
      const m = m0 || {};
      const ex = 'example' in m ? [exampleBox('Example', m.example)] : [];
      for (const [k, v] of Object.entries(m.examples || {})) {
        const e = deref(v);
        ex.push(exampleBox(e.summary ? `${k}: ${e.summary}` : k, e.value));
      }
      return h('div', { class: 'media' }, h('p', { class: 'mt' }, h('code', null, mt)),
        m.schema ? schemaNode(m.schema, { open: true }) : h('p', { class: 'muted' }, 'No schema.'), ex);
    });
  }

  function bodyBlock(op) {
    if (!op.requestBody) return null;
    const b = deref(op.requestBody);
    return [h('h4', null, 'Request body', b.required ? reqBadge() : null), prose(b.description), contentBlock(b.content)];
  }

  function responsesBlock(op) {
    const rs = Object.entries(op.responses || {});
    if (!rs.length) return null;
    return [h('h4', null, 'Responses'), rs.map(([code, r0]) => {
      const r = deref(r0);
      const hdrs = Object.entries(r.headers || {}).map(([n, x0]) => {
        const x = deref(x0);
        return h('li', null, h('code', null, n), ' ', typeCell(x.schema), x.description ? ' — ' + x.description : null);
      });
      return h('div', { class: 'response' },
        h('h5', null, h('span', { class: 'status s' + String(code)[0] }, code)), prose(r.description),
        hdrs.length ? [h('p', { class: 'muted' }, 'Headers:'), h('ul', { class: 'headers' }, hdrs)] : null,
        contentBlock(r.content));
    })];
  }

  function opSection(o) {
    const { op, id } = o;
    return h('section', { class: 'op', id, 'aria-labelledby': id + '-h' },
      h('h3', { id: id + '-h', tabindex: '-1' }, methodBadge(o.method), h('code', { class: 'path' }, o.path),
        op.deprecated ? badge('deprecated') : null,
        h('a', { class: 'permalink', href: '#' + id, 'aria-label': `Link to ${o.method.toUpperCase()} ${o.path}` }, '#')),
      op.summary ? h('p', { class: 'summary' }, op.summary) : null,
      op.operationId ? h('p', { class: 'muted opid' }, 'Operation ID: ', h('code', null, op.operationId)) : null,
      prose(op.description), securityBlock(op), paramsBlock(o), bodyBlock(op), responsesBlock(op));
  }

  function navGroup(title, id, links) {
    return h('div', { class: 'nav-group' }, h('p', { class: 'nav-title', id }, title),
      h('ul', { 'aria-labelledby': id }, links.map((a) => h('li', null, a))));
  }

  function render() {
    const info = spec.info || {};
    document.title = `${info.title || 'API'} — API reference`;
    $('title').textContent = info.title || 'API reference';
    $('version').textContent = [info.version ? 'Version ' + info.version : '', spec.openapi ? 'OpenAPI ' + spec.openapi : '']
      .filter(Boolean).join(' · ');
    add($('description'), prose(info.description));

    const byTag = new Map();
    const group = (name, tag) => byTag.get(name) || byTag.set(name, { tag: tag || { name }, ops: [] }).get(name);
    for (const t of spec.tags || []) if (t && t.name) group(t.name, t);
    const other = [];
    const used = new Set();
    for (const [path, item0] of Object.entries(spec.paths || {})) {
      const item = deref(item0);
      for (const method of METHODS) {
        const op = item[method];
        if (!op || typeof op !== 'object') continue;
        const base = 'op-' + slug(op.operationId || `${method}-${path}`);
        let id = base;
        for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
        used.add(id);
        const o = { method, path, op, pathItem: item, id, navLinks: [],
          text: [method, path, op.summary, op.operationId].filter(Boolean).join(' ').toLowerCase() };
        ops.push(o);
        const tags = Array.isArray(op.tags) && op.tags.length ? op.tags : null;
        if (tags) tags.forEach((t) => group(String(t)).ops.push(o)); else other.push(o);
      }
    }
    if (other.length) group('Other').ops.push(...other);

    const navBody = $('nav-body');
    const main = $('ops');
    for (const [name, g] of byTag) {
      if (!g.ops.length) continue;
      const gid = 'tag-' + slug(name);
      const sec = h('section', { class: 'tag', id: gid, 'aria-labelledby': gid + '-h' },
        h('h2', { id: gid + '-h', tabindex: '-1' }, name), prose(g.tag.description));
      const links = g.ops.map((o) => {
        const a = h('a', { href: '#' + o.id }, methodBadge(o.method),
          h('span', { class: 'nav-text' }, h('span', { class: 'nav-path' }, o.path),
            o.op.summary ? h('span', { class: 'nav-sum' }, o.op.summary) : null));
        o.navLinks.push(a);
        if (!o.section) sec.append(o.section = opSection(o));
        else sec.append(h('p', { class: 'xref' }, 'Also in this group: ', h('a', { href: '#' + o.id }, `${o.method.toUpperCase()} ${o.path}`)));
        return a;
      });
      const nav = navGroup(name, gid + '-nav', links);
      navBody.append(nav);
      main.append(sec);
      groups.push({ ops: g.ops, nav, sec });
    }

    const schemas = (spec.components || {}).schemas || {};
    const names = Object.keys(schemas);
    if (names.length) {
      const sec = $('schemas');
      sec.hidden = false;
      sec.append(h('h2', { id: 'schemas-h', tabindex: '-1' }, 'Schemas'));
      for (const n of names) {
        const id = 'schema-' + slug(n);
        sec.append(h('section', { class: 'schema', id, 'aria-labelledby': id + '-h' },
          h('h3', { id: id + '-h', tabindex: '-1' }, n),
          schemaNode(schemas[n], { open: true, seen: new Set([SCHEMA_PREFIX + n]) })));
      }
      navBody.append(navGroup('Schemas', 'schemas-nav', names.map((n) => h('a', { href: '#schema-' + slug(n) }, n))));
    }
    $('status').remove();
    applyFilter();
  }

  function applyFilter() {
    const words = $('filter').value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const o of ops) {
      const hit = words.every((w) => o.text.includes(w));
      o.section.hidden = !hit;
      o.navLinks.forEach((a) => { a.parentNode.hidden = !hit; });
      shown += hit ? 1 : 0;
    }
    for (const g of groups) {
      const any = g.ops.some((o) => !o.section.hidden);
      g.nav.hidden = !any;
      g.sec.hidden = !any;
    }
    $('filter-status').textContent = words.length
      ? `${shown} of ${ops.length} operations match` : `${ops.length} operations`;
  }

  // The URL hash selects an operation (#op-…, or a bare operationId), tag or schema.
  function select() {
    let raw = '';
    try { raw = decodeURIComponent(location.hash.slice(1)); } catch (_) { return; }
    document.querySelectorAll('.op.selected').forEach((e) => e.classList.remove('selected'));
    document.querySelectorAll('nav [aria-current]').forEach((e) => e.removeAttribute('aria-current'));
    if (!raw) return;
    const t = $(raw);
    const target = t && t.matches('.op, .tag, .schema') ? t : $('op-' + raw);
    if (!target) return;
    const o = ops.find((x) => x.id === target.id);
    if (o) {
      if (o.section.hidden) { $('filter').value = ''; applyFilter(); }
      o.section.classList.add('selected');
      o.navLinks.forEach((a) => a.setAttribute('aria-current', 'location'));
    }
    if (target.hidden) { $('filter').value = ''; applyFilter(); }
    if (narrow.matches) setNav(false);
    target.scrollIntoView({ block: 'start' });
    const heading = target.querySelector(':scope > h2, :scope > h3');
    if (heading) heading.focus({ preventScroll: true });
  }

  function setNav(open) {
    $('nav').classList.toggle('open', open);
    $('nav-toggle').setAttribute('aria-expanded', String(open));
  }

  function init() {
    $('nav-toggle').addEventListener('click', () => setNav(!$('nav').classList.contains('open')));
    $('filter').addEventListener('input', () => { applyFilter(); if ($('filter').value) setNav(true); });
    $('filter').addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && $('filter').value) { $('filter').value = ''; applyFilter(); }
    });
    window.addEventListener('hashchange', select);
    fetch(SPEC_URL, { headers: { Accept: 'application/json' } })
      .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.json(); })
      .then((data) => {
        if (!data || typeof data !== 'object') throw new Error('specification is not a JSON object');
        spec = data;
        render();
        select();
      })
      .catch((err) => {
        const s = $('status');
        if (!s) throw err;
        s.textContent = `Could not load the API specification from ${SPEC_URL}: ${err.message}`;
        s.setAttribute('role', 'alert');
        s.className = 'error';
        console.error(err);
      });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
