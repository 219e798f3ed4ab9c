// The one stylesheet of the browser pages: readable on a phone (fluid layout, large tap targets), light and dark.

/** Inlined into every page and pinned by its SHA-256 in the Content-Security-Policy. */
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
