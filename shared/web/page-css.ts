// The stylesheets of the page kit: the browser pages' (phone-friendly, light and dark) and the documents' (replay, report).

/** The browser pages' (approval, sign-in): inlined into each and pinned by its SHA-256 in the Content-Security-Policy. */
export const PAGE_CSS = `:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#ffffff;--card:#f6f8fa;--line:#d1d9e0;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--kw:#8250df;--str:#0a3069;--num:#0550ae;--par:#bc4c00}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;--ok:#3fb950;--bad:#f85149;--warn:#d29922;--kw:#d2a8ff;--str:#a5d6ff;--num:#79c0ff;--par:#ffa657}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:62rem;margin:0 auto;padding:1rem}
h1{font-size:1.45rem;line-height:1.25;margin:.5rem 0 .75rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.85rem 1rem;margin:.85rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
ul{margin:.25rem 0;padding-left:1.25rem}
li{margin:.2rem 0}
code,pre{font:14px/1.55 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.sql{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:.75rem;margin:0}
.k{color:var(--kw);font-weight:600}.s{color:var(--str)}.n{color:var(--num)}.p{color:var(--par);font-weight:600}.c{color:var(--muted);font-style:italic}.o{color:var(--muted)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
td .rule{display:block;font-size:.85rem}
th{color:var(--muted);font-weight:600}
.badge{display:inline-block;padding:.1rem .65rem;border-radius:999px;font-size:.85rem;font-weight:600;border:1px solid currentColor;vertical-align:middle}
.pending{color:var(--warn)}.approved,.executed{color:var(--ok)}.denied,.expired,.failed{color:var(--bad)}
.muted{color:var(--muted)}
.digest{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
.banner{border-left:4px solid var(--ok);padding:.6rem .9rem;background:var(--card);border-radius:6px;margin:.75rem 0}
label{display:block;font-weight:600;margin:.5rem 0 .25rem}
textarea,input[type=text]{width:100%;font:inherit;padding:.65rem;border-radius:8px;border:1px solid var(--line);background:var(--bg);color:var(--fg)}
textarea{min-height:5.5rem}
input[type=text]{min-height:3rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:.85rem}
button,.button{flex:1 1 12rem;display:inline-block;text-align:center;min-height:3.25rem;font:inherit;font-weight:700;border-radius:10px;border:0;padding:.8rem 1rem;cursor:pointer;color:#fff;background:var(--num);text-decoration:none}
button.approve{background:var(--ok)}button.deny{background:var(--bad)}
@media (max-width:40rem){main{padding:.65rem}dl{grid-template-columns:1fr;gap:0}dt{margin-top:.45rem}section{padding:.75rem}h1{font-size:1.3rem}.wide{display:none}th,td{padding:.35rem .3rem}}`;

/** The documents' (session replay, evidence report): wide tables and timelines, pinned by its SHA-256 as well. */
export const DOCUMENT_CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0; padding: 24px 32px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.sub, .muted { color: var(--muted); }
table { border-collapse: collapse; margin: 8px 0 16px; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .digest { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--bg); border: 1px solid var(--line); padding: 8px 12px; white-space: pre-wrap; word-break: break-word; margin: 4px 0 12px; }
.digest { word-break: break-all; color: var(--muted); }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.timeline { border-left: 3px solid var(--line); margin: 0 0 0 8px; padding: 0 0 0 20px; }
.step { margin: 0 0 20px; }
.step > h2 { border: 0; margin-top: 12px; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 4px 0 12px; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; word-break: break-word; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 16px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 140px; background: var(--bg); }
.card b { display: block; font-size: 20px; }
`.trim();
