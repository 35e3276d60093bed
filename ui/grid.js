/*
 * The page of `sluice ui` (issue #22): plain DOM for the controls and the tooltip, one canvas for
 * the cells. Only the rows in view are drawn (a spacer gives the scroll height), so 3,650 dates ×
 * 10 stages draw in a few milliseconds and scroll without lag; no library, no build step.
 * The data comes from the local server (/api/grid), which reads Temporal.
 */
'use strict';
(() => {
  const ROW = 16;
  const COL = 26;
  const LABEL = 96;
  const STATE_ORDER = [
    'failed',
    'late',
    'cancelled',
    'unknown',
    'waiting',
    'running',
    'pending',
    'never',
    'skipped',
    'succeeded',
  ];
  const LABELS = {
    succeeded: 'succeeded',
    failed: 'failed',
    running: 'running',
    waiting: 'waiting for a pool',
    late: 'late',
    skipped: 'skipped',
    cancelled: 'cancelled',
    pending: 'not started yet',
    never: 'never ran',
    unknown: 'unknown',
  };
  const COLOURS = {
    succeeded: '#2e7d32',
    failed: '#c62828',
    running: '#1565c0',
    waiting: '#00838f',
    late: '#6a1b9a',
    skipped: '#9e9e9e',
    cancelled: '#ef6c00',
    pending: '#b0bec5',
    never: '#eceff1',
    unknown: '#ab47bc',
  };
  const $ = (id) => document.getElementById(id);
  const canvas = $('cells');
  const scroller = $('scroller');
  const tooltip = $('tooltip');
  const state = {
    data: null,
    rows: [],
    columns: [],
    hiddenStates: new Set(),
    hiddenStages: new Set(),
    selected: new Set(),
    anchor: null,
    refresh: null,
    timings: {},
  };
  /** For tests and the bench: the data, the timings, and where a cell is drawn. */
  const api = {
    ready: false,
    loads: 0,
    get timings() {
      return state.timings;
    },
    get data() {
      return state.data;
    },
    /** The page coordinates of the centre of a cell (scrolled into view first), or null. */
    cellCenter(ds, stage) {
      const r = state.rows.findIndex((row) => row.ds === ds);
      const c = state.columns.indexOf(stage);
      if (r < 0 || (stage !== null && c < 0)) return null;
      const top = r * ROW;
      if (top < scroller.scrollTop || top + ROW > scroller.scrollTop + scroller.clientHeight) {
        scroller.scrollTop = Math.max(0, top - ROW * 3);
        draw();
      }
      const box = canvas.getBoundingClientRect();
      const x = stage === null ? LABEL / 2 : LABEL + c * COL + COL / 2;
      return { x: box.left + x - scroller.scrollLeft, y: box.top + top - scroller.scrollTop + ROW / 2 };
    },
  };
  window.sluiceGrid = api;

  function params() {
    const q = new URLSearchParams(location.search);
    return {
      pipeline: q.get('pipeline') || '',
      from: q.get('from') || '',
      to: q.get('to') || '',
      backfill: q.get('backfill') || '',
    };
  }

  function fmtSeconds(s) {
    if (s === undefined) return undefined;
    if (s < 90) return `${s} s`;
    if (s < 5400) return `${(s / 60).toFixed(1)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }
  function fmtUsd(usd) {
    return usd >= 1 ? `$${usd.toFixed(2)}` : usd >= 0.01 ? `$${usd.toFixed(3)}` : `$${usd.toFixed(6)}`;
  }

  /** Rows shown: every date with a cell of a shown state in a shown stage. */
  function layout() {
    const d = state.data;
    state.columns = d.stages.map((s) => s.id).filter((id) => !state.hiddenStages.has(id));
    state.rows = d.dates.filter(
      (row) => !state.hiddenStates.size || state.columns.some((id) => !state.hiddenStates.has(row.cells[id].state)),
    );
    $('spacer').style.height = `${state.rows.length * ROW}px`;
    $('spacer').style.width = `${LABEL + state.columns.length * COL}px`;
    const head = $('head');
    head.textContent = '';
    state.columns.forEach((id, i) => {
      const span = document.createElement('span');
      span.textContent = id;
      span.title = `${id} (${d.stages.find((s) => s.id === id).kind})`;
      span.style.left = `${LABEL + i * COL + 8}px`;
      head.appendChild(span);
    });
  }

  function draw() {
    const d = state.data;
    if (!d) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(scroller.clientWidth, 1);
    const height = Math.max(scroller.clientHeight, 1);
    if (canvas.width !== width * dpr || canvas.height !== height * dpr) {
      canvas.width = width * dpr;
      canvas.height = height * dpr;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    // The canvas covers the scroller's viewport wherever it is scrolled to; the spacer gives the scroll size.
    canvas.style.top = `${scroller.scrollTop}px`;
    canvas.style.left = `${scroller.scrollLeft}px`;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const first = Math.floor(scroller.scrollTop / ROW);
    const last = Math.min(state.rows.length, first + Math.ceil(height / ROW) + 1);
    const dx = -scroller.scrollLeft;
    const dy = -(scroller.scrollTop % ROW);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (let r = first; r < last; r++) {
      const row = state.rows[r];
      const y = (r - first) * ROW + dy;
      if (state.selected.has(row.ds)) {
        ctx.fillStyle = '#fff3bf';
        ctx.fillRect(0, y, width, ROW);
      }
      ctx.fillStyle = row.status === 'Failed' ? '#c62828' : '#24292e';
      ctx.fillText(row.ds, 6 + dx, y + ROW / 2);
      for (let c = 0; c < state.columns.length; c++) {
        const cell = row.cells[state.columns[c]];
        const x = LABEL + c * COL + dx;
        ctx.fillStyle = COLOURS[cell.state];
        ctx.fillRect(x + 2, y + 2, COL - 4, ROW - 4);
        if (cell.state === 'never') {
          ctx.strokeStyle = '#cfd8dc';
          ctx.strokeRect(x + 2.5, y + 2.5, COL - 5, ROW - 5);
        }
        if (cell.items && cell.items.succeeded !== cell.items.total) {
          ctx.fillStyle = '#fff';
          ctx.fillText(String(cell.items.total - cell.items.succeeded), x + 6, y + ROW / 2);
        }
      }
    }
  }

  function hit(ev) {
    const box = canvas.getBoundingClientRect();
    const x = ev.clientX - box.left + scroller.scrollLeft;
    const y = ev.clientY - box.top + scroller.scrollTop;
    const row = state.rows[Math.floor(y / ROW)];
    if (!row) return null;
    if (x < LABEL) return { row, stage: null };
    const c = Math.floor((x - LABEL) / COL);
    return c < state.columns.length ? { row, stage: state.columns[c] } : null;
  }

  function tooltipText(row, stage) {
    const cell = row.cells[stage];
    const kind = state.data.stages.find((s) => s.id === stage).kind;
    const lines = [`${row.ds} · ${stage} (${kind})`, `state: ${LABELS[cell.state]}`];
    if (cell.items) lines.push(`items: ${cell.items.succeeded}/${cell.items.total} succeeded`);
    const duration = fmtSeconds(cell.durationSeconds);
    if (duration) lines.push(`duration: ${duration}`);
    if (cell.waitingFor) lines.push(`waiting for pool ${cell.waitingFor}`);
    if (cell.jobId) lines.push(`AWS job id: ${cell.jobId}`);
    if (cell.usd !== undefined) lines.push(`cost: ${fmtUsd(cell.usd)}`);
    if (cell.message) lines.push(cell.message);
    if (row.note) lines.push(`(${row.note})`);
    if (row.url) lines.push('click: open the run in the Temporal UI');
    return lines.join('\n');
  }

  canvas.addEventListener('mousemove', (ev) => {
    const h = hit(ev);
    if (!h || h.stage === null) {
      tooltip.hidden = true;
      canvas.style.cursor = h ? 'pointer' : 'default';
      return;
    }
    tooltip.textContent = tooltipText(h.row, h.stage);
    tooltip.dataset.ds = h.row.ds;
    tooltip.dataset.stage = h.stage;
    tooltip.dataset.state = h.row.cells[h.stage].state;
    tooltip.hidden = false;
    tooltip.style.left = `${Math.min(ev.clientX + 14, window.innerWidth - 430)}px`;
    tooltip.style.top = `${Math.min(ev.clientY + 14, window.innerHeight - tooltip.offsetHeight - 4)}px`;
    canvas.style.cursor = h.row.url ? 'pointer' : 'default';
  });
  canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
  canvas.addEventListener('click', (ev) => {
    const h = hit(ev);
    if (!h) return;
    if (h.stage !== null) {
      if (h.row.url) window.open(h.row.url, '_blank', 'noopener');
      return;
    }
    // A date: select it; shift: the range from the last one clicked.
    const ds = h.row.ds;
    if (ev.shiftKey && state.anchor) {
      const [a, b] = [state.anchor, ds].sort();
      for (const row of state.rows) if (row.ds >= a && row.ds <= b) state.selected.add(row.ds);
    } else if (state.selected.has(ds) && state.selected.size === 1) state.selected.clear();
    else {
      state.selected = new Set([ds]);
      state.anchor = ds;
    }
    showSelection();
    draw();
  });
  scroller.addEventListener('scroll', () => {
    $('head').scrollLeft = scroller.scrollLeft;
    draw();
  });
  window.addEventListener('resize', draw);

  function selectedRows() {
    return state.data ? state.data.dates.filter((r) => state.selected.has(r.ds)) : [];
  }
  function showSelection() {
    const rows = selectedRows();
    const failed = rows.filter((r) => r.status === 'Failed').length;
    $('selection').textContent = rows.length
      ? `${rows.length} date${rows.length === 1 ? '' : 's'} selected (${failed} failed)`
      : 'Click a date to select it (shift-click: a range).';
    $('rerun').disabled = !(rows.length === 1 && rows[0].workflowId);
    $('backfill').disabled = failed === 0;
  }

  function chips() {
    const d = state.data;
    const used = STATE_ORDER.filter((s) => d.stages.some((st) => d.totals[st.id] && d.totals[st.id][s]));
    const states = $('states');
    states.textContent = 'states: ';
    for (const s of used) {
      const chip = document.createElement('span');
      chip.className = `chip${state.hiddenStates.has(s) ? ' off' : ''}`;
      chip.dataset.state = s;
      const n = d.stages.reduce((t, st) => t + ((d.totals[st.id] || {})[s] || 0), 0);
      chip.innerHTML = `<span class="swatch" style="background:${COLOURS[s]}"></span>`;
      chip.append(`${LABELS[s]} (${n})`);
      chip.onclick = () => {
        if (state.hiddenStates.has(s)) state.hiddenStates.delete(s);
        else state.hiddenStates.add(s);
        chips();
        layout();
        draw();
      };
      states.appendChild(chip);
    }
    const stages = $('stages');
    stages.textContent = 'stages: ';
    for (const st of d.stages) {
      const chip = document.createElement('span');
      chip.className = `chip${state.hiddenStages.has(st.id) ? ' off' : ''}`;
      chip.dataset.stage = st.id;
      chip.textContent = st.id;
      chip.onclick = () => {
        if (state.hiddenStages.has(st.id)) state.hiddenStages.delete(st.id);
        else state.hiddenStages.add(st.id);
        chips();
        layout();
        draw();
      };
      stages.appendChild(chip);
    }
  }

  async function load() {
    const p = params();
    if (!p.pipeline) return;
    clearTimeout(state.refresh);
    const q = new URLSearchParams(Object.entries(p).filter(([, v]) => v));
    const t0 = performance.now();
    const res = await fetch(`api/grid?${q}`);
    const text = await res.text();
    const t1 = performance.now();
    const body = JSON.parse(text);
    if (!res.ok) {
      $('status').textContent = body.error || `error ${res.status}`;
      return;
    }
    const t2 = performance.now();
    state.data = body;
    for (const ds of [...state.selected]) if (!body.dates.some((r) => r.ds === ds)) state.selected.delete(ds);
    $('controls').hidden = false;
    $('grid').hidden = false;
    chips();
    layout();
    draw();
    showSelection();
    // The canvas is painted by the next frame: render time is until then.
    await new Promise((r) => requestAnimationFrame(() => r()));
    const t3 = performance.now();
    state.timings = {
      fetchMs: Math.round(t1 - t0),
      parseMs: Math.round(t2 - t1),
      renderMs: Math.round(t3 - t2),
      serverLoadMs: body.loadMs,
      calls: body.calls.total,
    };
    const running =
      body.dates.some((r) => r.status === 'Running') || (body.backfill && body.backfill.status === 'RUNNING');
    $('status').textContent =
      `${body.pipeline}: ${body.from} → ${body.to}, ${body.dates.length} dates × ${body.stages.length} stages · ` +
      `loaded in ${body.loadMs} ms with ${body.calls.total} Temporal calls · drawn in ${state.timings.renderMs} ms` +
      (body.backfill ? ` · backfill ${body.backfill.workflowId}: ${body.backfill.status.toLowerCase()}` : '') +
      (running ? ' · live: refreshing every 3 s' : '') +
      (body.workerUp ? '' : ' · no worker up: running dates show their state, not their stages');
    api.loads++;
    api.ready = true;
    if (running) state.refresh = setTimeout(() => load().catch(showError), 3000);
  }
  function showError(err) {
    $('status').textContent = `error: ${err && err.message ? err.message : String(err)}`;
  }

  function confirmAsk(text) {
    const dialog = $('confirm');
    $('confirm-text').textContent = text;
    dialog.returnValue = '';
    dialog.showModal();
    return new Promise((resolve) =>
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }),
    );
  }
  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sluice-ui': '1' },
      body: JSON.stringify(body),
    });
    const out = await res.json();
    if (!res.ok) throw new Error(out.error || `error ${res.status}`);
    return out;
  }
  function outcome(text, url) {
    const el = $('outcome');
    el.textContent = text;
    if (url) {
      const a = document.createElement('a');
      a.href = url;
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = 'open in the Temporal UI';
      el.appendChild(a);
    }
  }
  $('rerun').onclick = async () => {
    const [row] = selectedRows();
    if (!row || !(await confirmAsk(`Re-run ${state.data.pipeline} for ${row.ds}? Its stages start fresh AWS jobs.`)))
      return;
    try {
      const r = await post('api/rerun', { pipeline: state.data.pipeline, ds: row.ds });
      outcome(
        `${r.attached ? 'Already running' : 'Started'}: ${r.workflowId} (run ${r.runId}, generation ${r.generation}).`,
        r.url,
      );
      await load();
    } catch (err) {
      outcome(`Not started: ${err.message}`);
    }
  };
  $('backfill').onclick = async () => {
    const rows = selectedRows();
    const failed = rows.filter((r) => r.status === 'Failed');
    const from = rows[0].ds;
    const to = rows[rows.length - 1].ds;
    const ask = `Backfill the ${failed.length} failed date${failed.length === 1 ? '' : 's'} of ${state.data.pipeline} from ${from} to ${to}?`;
    if (!failed.length || !(await confirmAsk(ask))) return;
    try {
      const r = await post('api/backfill', { pipeline: state.data.pipeline, from, to });
      outcome(`${r.attached ? 'Already running' : 'Started'}: backfill ${r.workflowId}.`, r.url);
      const q = new URLSearchParams(location.search);
      q.set('backfill', r.workflowId);
      if (!q.get('from')) q.set('from', state.data.from);
      if (!q.get('to')) q.set('to', state.data.to);
      history.replaceState(null, '', `?${q}`);
      await load();
    } catch (err) {
      outcome(`Not started: ${err.message}`);
    }
  };

  $('query').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const q = new URLSearchParams([...f.entries()].filter(([, v]) => v));
    history.pushState(null, '', `?${q}`);
    state.selected.clear();
    load().catch(showError);
  });
  window.addEventListener('popstate', () => load().catch(showError));

  const p = params();
  for (const [k, v] of Object.entries(p)) document.querySelector(`#query [name=${k}]`).value = v;
  fetch('api/pipelines')
    .then((r) => r.json())
    .then((b) => {
      for (const name of b.pipelines || []) {
        const o = document.createElement('option');
        o.value = name;
        $('pipelines').appendChild(o);
      }
    })
    .catch(() => undefined);
  load().catch(showError);
})();
