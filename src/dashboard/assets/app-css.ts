/**
 * The dashboard's whole stylesheet. System fonts only; light and dark follow the system (prefers-color-scheme);
 * one column on a phone, more room on a desktop. Tones: ok (green), run (blue), warn (amber), bad (red), off (grey) —
 * always beside the state's word, never instead of it. `a-*` classes are the ANSI colours of job output.
 */
import { DASHBOARD } from '../../config/defaults.ts';

/** A strip group of n runs is n cells of 8 px with 2 px gaps (drawn by the gradient). */
const CELL_WIDTHS = Array.from({ length: DASHBOARD.strip_runs }, (_, i) => `.n${i + 1}{width:${(i + 1) * 10 - 2}px}`).join('');
const STRIP_PX = DASHBOARD.strip_runs * 10 - 2;

export const APP_CSS = `
:root{--bg:#fff;--fg:#1b1f24;--mut:#5b6470;--line:#d8dde3;--card:#f6f8fa;--ok:#1a7f37;--run:#0969da;--warn:#9a6700;--bad:#cf222e;--off:#6e7781;--focus:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mut:#9aa5b1;--line:#30363d;--card:#161b22;--ok:#3fb950;--run:#58a6ff;--warn:#d29922;--bad:#f85149;--off:#8b949e;--focus:#58a6ff}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere}
a{color:var(--run)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px 8px;z-index:9}
.top{display:flex;flex-wrap:wrap;gap:4px 16px;align-items:center;padding:8px 16px;border-bottom:1px solid var(--line);background:var(--card)}
.brand{font-weight:700;color:var(--fg);text-decoration:none}.proj{font-weight:400;color:var(--mut)}
.top nav{display:flex;gap:12px;align-items:center}
.conn{margin-left:auto;font-size:13px;color:var(--mut)}
main{max-width:1100px;margin:0 auto;padding:12px 16px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:24px 0 8px}
.muted{color:var(--mut)}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.b+.b{margin-left:4px}
.b{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid currentColor;white-space:nowrap;vertical-align:1px}
.t-ok{color:var(--ok)}.t-run{color:var(--run)}.t-warn{color:var(--warn)}.t-bad{color:var(--bad)}.t-off{color:var(--off)}
.banner{border:1px solid currentColor;border-left-width:6px;border-radius:6px;padding:8px 14px;margin:8px 0}
.banner h1{font-size:19px}.banner p,.banner li{color:var(--fg)}
.att{margin:0;padding-left:20px}.att li{margin:6px 0}
.fix{margin:2px 0;color:var(--fg)}
.rows{list-style:none;margin:0;padding:0;border-top:1px solid var(--line)}
.rows>li{padding:8px 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:4px 16px;align-items:center}
.rows .main,.rows>li>div:first-child{display:flex;flex-wrap:wrap;gap:6px;align-items:center;flex:1 1 260px;min-width:0}
.rows>li>div:first-child>a:first-child{font-weight:600}
.rows>li>p{margin:0;flex-basis:100%}
.name{font-weight:600}.kind{font-size:13px;color:var(--mut)}
.strip{display:inline-flex;gap:2px;flex:0 0 auto;min-width:${STRIP_PX}px}
@media (min-width:700px){.rows .main,.rows>li>div:first-child{flex:0 0 340px}.rows .main.wide{flex:1 1 auto}}
.strip i{display:block;height:18px;background:repeating-linear-gradient(90deg,currentColor 0 8px,transparent 8px 10px)}
.strip .k{color:var(--ok)}.strip .r{color:var(--run)}.strip .w{color:var(--warn)}.strip .x{color:var(--bad)}.strip .o{color:var(--off)}
${CELL_WIDTHS}
.rows>li>p.facts{flex:1 1 300px;font-size:14px;color:var(--mut)}.facts b{font-weight:400}
.rows>li>p.now{font-size:14px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}.kv dt{color:var(--mut)}.kv dd{margin:0}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.inline{display:inline}
.btn{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer;min-height:36px}
.btn:hover{border-color:var(--mut)}.btn.danger{color:var(--bad);border-color:var(--bad)}
.link{font:inherit;background:none;border:0;padding:0;color:var(--run);text-decoration:underline;cursor:pointer}
.flash{border:1px solid currentColor;border-radius:6px;padding:6px 12px}
.filters,.pager{display:flex;flex-wrap:wrap;gap:4px 12px;margin:6px 0;font-size:14px}
.filters a[aria-current]{font-weight:700;color:var(--fg)}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--mut);font-weight:600}
td.body{max-width:420px}
.out{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px;max-height:70vh;overflow:auto;white-space:pre-wrap;word-break:break-word;margin:6px 0}
.out.small{max-height:8em;margin:0;padding:2px 6px}
.out .l{display:block}.out .s-e{border-left:3px solid var(--bad);padding-left:5px}.out .s-n{color:var(--mut);font-style:italic}
.cfg{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px 10px;overflow:auto;max-height:60vh;white-space:pre-wrap}
.search{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:6px 0}
input{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);min-height:36px;max-width:100%}
.login form{display:flex;flex-direction:column;gap:8px;max-width:360px}
.timeline{padding-left:20px}
.findings details{width:100%}.findings summary{cursor:pointer}.pre{white-space:pre-line;margin:4px 0}
.a-b{font-weight:700}.a-d{opacity:.7}.a-i{font-style:italic}.a-u{text-decoration:underline}
.a-f0,.a-f8{color:var(--off)}.a-f1,.a-f9{color:var(--bad)}.a-f2,.a-f10{color:var(--ok)}.a-f3,.a-f11{color:var(--warn)}.a-f4,.a-f12{color:var(--run)}.a-f5,.a-f13{color:#a371f7}.a-f6,.a-f14{color:#1b9aaa}.a-f7,.a-f15{color:var(--fg)}
.a-g0,.a-g8{background:#6e768166}.a-g1,.a-g9{background:#cf222e44}.a-g2,.a-g10{background:#1a7f3744}.a-g3,.a-g11{background:#9a670044}.a-g4,.a-g12{background:#0969da44}.a-g5,.a-g13{background:#a371f744}.a-g6,.a-g14{background:#1b9aaa44}.a-g7,.a-g15{background:#8b949e44}
@media (max-width:600px){main{padding:8px 10px 40px}th,td{padding:4px 5px}.runs th:nth-child(4),.runs td:nth-child(4),.runs th:nth-child(5),.runs td:nth-child(5){display:none}}
`;
