"""``report.html``: one self-contained page, no network resource of any kind.

Inline CSS, inline SVG drawn by a few lines of vanilla JavaScript from the results embedded as JSON;
the metric toggle (speed · energy · cost) redraws the scatter of quality against that metric, the
Pareto front marked, and re-sorts the table. No fonts, images, styles or scripts by URL.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1000px;
color:#0f172a;padding:0 1rem}
h1{font-size:1.3rem;margin-bottom:.2rem}.sub{color:#475569;margin-top:0}
.toggle button{font:inherit;border:1px solid #94a3b8;background:#fff;padding:.3rem .9rem;cursor:pointer}
.toggle button:first-child{border-radius:6px 0 0 6px}.toggle button:last-child{border-radius:0 6px 6px 0}
.toggle button[aria-pressed=true]{background:#0f172a;color:#fff;border-color:#0f172a}
svg{width:100%;height:auto;border:1px solid #e2e8f0;border-radius:6px;margin:.8rem 0}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left}tr.front td:first-child{font-weight:600;color:#c2410c}
.excluded{color:#64748b}.note{color:#475569;font-size:.9em}
"""

_JS = """
(function(){
const R=JSON.parse(document.getElementById('results').textContent);
const M=R.metrics, names=Object.keys(R.backends), W=900,H=420,P={l:60,r:150,t:20,b:50};
const svg=document.getElementById('chart'), tbody=document.getElementById('rows');
const NS=svg.namespaceURI;
function el(tag,attrs,text){const e=document.createElementNS(NS,tag);
  for(const k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function fmt(v,d){if(v===null||v===undefined)return '–';
  if(v!==0&&Math.abs(v)<Math.pow(10,-d))return v.toPrecision(2);return v.toFixed(d);}
function draw(metric){
  const field=M[metric].field, front=R.pareto[metric]||[];
  document.querySelectorAll('.toggle button').forEach(b=>b.setAttribute('aria-pressed',b.dataset.metric===metric));
  while(svg.firstChild)svg.removeChild(svg.firstChild);
  const pts=names.map(n=>({n,x:R.backends[n][field],q:R.backends[n].quality_mean,
    lo:R.backends[n].quality_ci_low,hi:R.backends[n].quality_ci_high}))
    .filter(p=>p.x!==null&&p.x!==undefined&&p.q!==null);
  svg.appendChild(el('text',{x:P.l,y:H-10,'font-size':12,fill:'#475569'},M[metric].unit+' (lower is better) →'));
  svg.appendChild(el('text',{x:14,y:P.t+10,'font-size':12,fill:'#475569',transform:'rotate(90 14 '+(P.t+10)+')'},'quality →'));
  if(!pts.length){svg.appendChild(el('text',{x:W/2,y:H/2,'text-anchor':'middle'},'not measured'));}
  else{
  const xs=pts.map(p=>p.x), lo=Math.min(...xs), hi=Math.max(...xs);
  const log=lo>0&&hi/lo>50;
  const tx=v=>log?Math.log10(v):v; let a=tx(lo), b=tx(hi); if(a===b){a-=1;b+=1;}
  const pad=(b-a)*0.08; a-=pad; b+=pad; if(!log&&a<0&&lo>=0)a=0;
  const X=v=>P.l+(tx(v)-a)/(b-a)*(W-P.l-P.r), Y=q=>P.t+(1-q)*(H-P.t-P.b);
  for(let i=0;i<=4;i++){const q=i/4;
    svg.appendChild(el('line',{x1:P.l,x2:W-P.r,y1:Y(q),y2:Y(q),stroke:'#e2e8f0'}));
    svg.appendChild(el('text',{x:P.l-8,y:Y(q)+4,'text-anchor':'end','font-size':11,fill:'#64748b'},q.toFixed(2)));}
  for(let i=0;i<=4;i++){const t=a+(b-a)*i/4, v=log?Math.pow(10,t):t;
    svg.appendChild(el('text',{x:X(v),y:H-P.b+16,'text-anchor':'middle','font-size':11,fill:'#64748b'},fmt(v,3)));}
  const fp=pts.filter(p=>front.includes(p.n)).sort((u,v)=>u.x-v.x);
  if(fp.length>1){let d='M'+X(fp[0].x)+','+Y(fp[0].q);
    for(let i=1;i<fp.length;i++)d+=' H'+X(fp[i].x)+' V'+Y(fp[i].q);
    svg.appendChild(el('path',{d,fill:'none',stroke:'#c2410c','stroke-width':2,opacity:.6}));}
  for(const p of pts){const on=front.includes(p.n), c=on?'#c2410c':'#64748b';
    if(p.lo!==null&&p.hi!==null)svg.appendChild(el('line',{x1:X(p.x),x2:X(p.x),y1:Y(p.lo),y2:Y(p.hi),stroke:c}));
    const dot=el('circle',{cx:X(p.x),cy:Y(p.q),r:on?6:4,fill:c});
    dot.appendChild(el('title',{},p.n+': quality '+fmt(p.q,3)+', '+fmt(p.x,4)+' '+M[metric].unit));
    svg.appendChild(dot);
    svg.appendChild(el('text',{x:X(p.x)+8,y:Y(p.q)-8,'font-size':12},p.n+(on?' ★':'')));}
  }
  const rows=[...tbody.querySelectorAll('tr[data-backend]')];
  rows.sort((u,v)=>{const a=R.backends[u.dataset.backend][field], b=R.backends[v.dataset.backend][field];
    return (a===null?Infinity:a)-(b===null?Infinity:b);});
  rows.forEach(r=>{r.classList.toggle('front',front.includes(r.dataset.backend));tbody.appendChild(r);});
  tbody.querySelectorAll('tr.excluded').forEach(r=>tbody.appendChild(r));
}
document.querySelectorAll('.toggle button').forEach(b=>b.addEventListener('click',()=>draw(b.dataset.metric)));
draw('cost');
})();
"""


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    v = float(value)
    if v != 0 and abs(v) < 10**-digits:
        return f"{v:.2g}"
    return f"{v:.{digits}f}"


def _rows(results: Mapping[str, Any]) -> str:
    out = []
    for name, s in results.get("backends", {}).items():
        methods = ", ".join(s.get("energy_methods", []) + s.get("cost_methods", [])) or "–"
        ci = f"{_cell(s.get('quality_ci_low'), 3)}–{_cell(s.get('quality_ci_high'), 3)}"
        cells = [
            html.escape(name),
            f"{_cell(s.get('quality_mean'), 3)} <span class=note>({ci})</span>",
            f"{s.get('errors', 0)}/{s.get('items', 0)}",
            f"{_cell(s.get('latency_p50_s'), 2)} / {_cell(s.get('latency_p95_s'), 2)}",
            _cell(s.get("tokens_per_s"), 1),
            _cell(s.get("j_per_token"), 3),
            _cell(s.get("j_per_item"), 2),
            _cell(s.get("eur_per_1000_items"), 4),
            html.escape(methods),
        ]
        tds = "".join(f"<td>{c}</td>" for c in cells)
        out.append(f'<tr data-backend="{html.escape(name, quote=True)}">{tds}</tr>')
    for name, reason in results.get("excluded", {}).items():
        out.append(
            f'<tr class="excluded"><td>{html.escape(name)}</td>'
            f'<td colspan="8" style="text-align:left">excluded: {html.escape(reason)}</td></tr>'
        )
    return "\n".join(out)


def _embed(results: Mapping[str, Any]) -> str:
    summary = {k: results.get(k) for k in ("suite", "use_case", "created_at", "metrics")}
    summary |= {k: results.get(k) for k in ("backends", "pareto", "excluded")}
    text = json.dumps(summary, ensure_ascii=False)
    # nothing in the data can end the script element or open a comment
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(results: Mapping[str, Any]) -> str:
    suite = results.get("suite", {})
    title = f"souverain bench · {suite.get('name', '')} · {results.get('use_case', '')}"
    buttons = "".join(
        f'<button type="button" data-metric="{m}" aria-pressed="false">{m}</button>'
        for m in results.get("metrics", {})
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="sub">{html.escape(str(suite.get("items_run", suite.get("items", ""))))} of {html.escape(str(suite.get("items", "")))} items run · scorer {html.escape(str(suite.get("scorer", "")))}
 · {html.escape(str(results.get("created_at", "")))} · suite digest {html.escape(str(suite.get("digest", ""))[:12])}
 · config {html.escape(str(results.get("config_hash") or "–")[:12])}</p>
<p class="toggle" role="group" aria-label="metric">{buttons}</p>
<svg id="chart" viewBox="0 0 900 420" role="img" aria-label="quality against the chosen metric"></svg>
<p class="note">Each dot is a backend: quality (mean, bar = bootstrap 95 % interval) against the
chosen metric; ★ and the orange line mark the Pareto front (no other backend is both better and
cheaper). Estimates carry their method in the last column.</p>
<table><thead><tr><th>backend</th><th>quality (95 % CI)</th><th>errors</th><th>p50 / p95 s</th>
<th>tok/s</th><th>J/token</th><th>J/item</th><th>EUR/1k items</th><th>methods</th></tr></thead>
<tbody id="rows">
{_rows(results)}
</tbody></table>
<script type="application/json" id="results">{_embed(results)}</script>
<script>{_JS}</script>
</body></html>
"""
