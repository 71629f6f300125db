package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
)

const pageHead = "<!doctype html><html lang=en><head><meta charset=utf-8>" +
	"<meta name=viewport content=\"width=device-width,initial-scale=1\">"

const pageStyle = `<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#222;background:#fff}
h1{font-size:1.3em;margin:.2em 0}#peer{word-break:break-all}h2{font-size:1.1em;margin:1.2em 0 .3em}
a{color:#1a4f9c}nav a,nav b{margin-right:.6em}nav{margin:.3em 0}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:3px 6px;text-align:left;border-bottom:1px solid #ddd;
white-space:nowrap;vertical-align:middle}
th a{text-decoration:none;color:inherit}
td.n,th.n,#peers td:nth-child(n+4):nth-child(-n+7){text-align:right}
td.tl{width:50%;min-width:240px}
svg.tl,.tl svg{display:block;width:100%;height:18px;background:#f4f4f4}
svg.big{height:36px}svg.tl rect,.tl svg rect{height:100%}
.on{fill:#2e9d4a}.off{fill:#d23c3c}.um{fill:#8a8fa3}.un{fill:#f0a020}
.o,.c{stroke-width:2;vector-effect:non-scaling-stroke;fill:none}
.o{stroke:#1a4f9c}.c{stroke:#111;stroke-dasharray:3 2}
.key span{display:inline-block;width:.9em;height:.9em;margin:0 .2em 0 .8em;
vertical-align:-.1em}
.key .on{background:#2e9d4a}.key .off{background:#d23c3c}
.key .um{background:#8a8fa3}.key .un{background:#f0a020}
.key .o{background:#1a4f9c;width:3px}.key .c{background:#111;width:3px}
.v.watch{color:#9a6a00}.v.consider_closing{color:#b02a2a;font-weight:600}
.up{color:#1d7a37}.down{color:#b02a2a}.muted{color:#666}
@media (max-width:600px){body{margin:.4em;font-size:13px}
td.tl{min-width:160px}th,td{padding:2px 3px}}
</style>`

// pageScript sorts the peer table in place when a column header is
// clicked (without it the header's link asks the server), and draws each
// row's timeline from its data-s with a hover title per segment (without
// it the row shows the same colours, without titles: each peer's own
// page has them). data-s lists the segments as "<state><start>", the
// start in base 36 seconds after the table's data-t0, an unstable one's
// flaps after a colon, and last the end.
const pageScript = `(function(){var T=document.getElementById("peers");if(!T)return;
var t0=+T.dataset.t0,sp=+T.dataset.t1-t0,N="http://www.w3.org/2000/svg",
S={n:["on","online"],f:["off","offline"],m:["um","unmonitored"],s:["un","unstable"]};
function p(n){return n<10?"0"+n:""+n}
function tm(t,d){return(d?t.getUTCFullYear()+"-"+p(t.getUTCMonth()+1)+"-"+p(t.getUTCDate())+" ":"")+
p(t.getUTCHours())+":"+p(t.getUTCMinutes())}
function du(d){var u=[86400,"d",3600,"h",60,"m",1,"s"];for(var i=0;i<8;i+=2)if(d>=u[i]){
var o=Math.floor(d/u[i])+u[i+1];if(i<6){var r=Math.floor(d%u[i]/u[i+2]);if(r>0)o+=r+u[i+3]}return o}return"0s"}
function x(o){return sp>0?Math.min(Math.max(o/sp*2000,0),2000):0}
T.querySelectorAll("svg[data-s]").forEach(function(g){
var z=g.dataset.s.split(" "),m=g.querySelector("path");
g.querySelectorAll("rect").forEach(function(r){g.removeChild(r)});
for(var i=0;i+1<z.length;i++){var k=S[z[i][0]],a=z[i].slice(1).split(":"),
s=parseInt(a[0],36),e=parseInt(z[i+1].replace(/^[a-z]/,"").split(":")[0],36),
r=document.createElementNS(N,"rect"),h=document.createElementNS(N,"title"),
sd=new Date((t0+s)*1e3),ed=new Date((t0+e)*1e3);
r.setAttribute("class",k[0]);r.setAttribute("x",x(s));r.setAttribute("width",Math.max(x(e)-x(s),2));
h.textContent=k[1]+(a[1]?" ("+a[1]+" flaps)":"")+" "+tm(sd,1)+" – "+
tm(ed,sd.toISOString().slice(0,10)!==ed.toISOString().slice(0,10))+", "+du(e-s);
r.appendChild(h);g.insertBefore(r,m)}})
function v(r,i){var c=r.cells[i],a=c.firstChild;return c.dataset.v||(i?c.textContent:a.title||a.getAttribute("href"))}
T.querySelectorAll("th[data-i]").forEach(function(th){
th.querySelector("a").addEventListener("click",function(e){e.preventDefault();
var i=+th.dataset.i,tb=T.tBodies[0],rs=Array.prototype.slice.call(tb.rows),d=th.dataset.o==="asc"?-1:1;
T.querySelectorAll("th[data-i]").forEach(function(h){h.dataset.o=""});
th.dataset.o=d>0?"asc":"desc";
rs.sort(function(a,b){var x=v(a,i),y=v(b,i),p=parseFloat(x),q=parseFloat(y);
return d*(isNaN(p)||isNaN(q)?(x<y?-1:x>y?1:0):p-q)});
rs.forEach(function(r){tb.appendChild(r)})})})})()`

// pageCSP lets a page use its inline style and its one script, and load
// nothing.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageScript))
	return "default-src 'none'; style-src 'unsafe-inline'; " +
		"script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'none'; frame-ancestors 'none'"
}()
