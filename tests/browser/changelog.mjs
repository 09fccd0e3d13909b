// Opens an HTML changelog written by `sqlpact changelog --format html` in headless
// Chromium and checks what a reader sees, on a desktop screen and on a phone.
//
//   node tests/browser/changelog.mjs PAGE.html SCREENSHOT.png
//
// Prints one JSON line of what it measured; exits non-zero, saying why, when a check
// fails. Chromium is Debian's (`/usr/bin/chromium`, or $CHROMIUM); playwright-core
// drives it and downloads no browser of its own.

import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [page_path, shot_path] = process.argv.slice(2);
if (!page_path || !shot_path) {
  console.error("usage: node tests/browser/changelog.mjs PAGE.html SCREENSHOT.png");
  process.exit(2);
}

const failures = [];
function check(ok, what) {
  if (!ok) failures.push(what);
}

// The machine's network may be closed: Chromium must not try to reach anything.
// playwright-core starts it with a new, empty profile of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const report = {};
try {
  const url = pathToFileURL(resolve(page_path)).href;

  // Desktop.
  const desk = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests = [];
  desk.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url());
  });
  await desk.goto(url);
  const matrix = desk.locator("#schema-matrix");
  check(await matrix.isVisible(), "the client x schema matrix is visible");
  const box = await matrix.boundingBox();
  check(box && box.width > 200 && box.height > 100, `the matrix has a size (${JSON.stringify(box)})`);
  const rows = await desk.locator("#schema-matrix tbody tr").count();
  const cols = await desk.locator("#schema-matrix thead th").count();
  report.rows = rows;
  report.columns = cols - 1;
  check(rows >= 2 && cols - 1 === rows, `a square matrix (${rows} rows, ${cols - 1} columns)`);
  const colour = async (sel) =>
    desk.locator(sel).first().evaluate((e) => getComputedStyle(e).backgroundColor);
  const ok_bg = await colour("#schema-matrix td.ok");
  const bad_bg = await colour("#schema-matrix td.bad");
  report.ok_colour = ok_bg;
  report.bad_colour = bad_bg;
  const rgb = (c) => c.match(/\d+/g).map(Number);
  const [or, og] = rgb(ok_bg);
  const [br, bg] = rgb(bad_bg);
  check(og > or, `compatible cells are green (${ok_bg})`);
  check(br > bg, `breaking cells are red (${bad_bg})`);
  report.ok_cells = await desk.locator("#schema-matrix td.ok").count();
  report.bad_cells = await desk.locator("#schema-matrix td.bad").count();
  check(report.ok_cells + report.bad_cells === rows * rows, "every cell is coloured");

  // A breaking cell hides its reasons until opened, names them on hover, and shows
  // them when selected.
  const bad = desk.locator("#schema-matrix td.bad").first();
  const reason = bad.locator("li").first();
  check(!(await reason.isVisible()), "reasons stay folded until asked for");
  const title = await bad.getAttribute("title");
  check(title && title.length > 0, "a breaking cell carries its reasons on hover");
  await bad.locator("summary").click();
  check(await reason.isVisible(), "selecting a breaking cell shows its reasons");
  report.first_reason = (await reason.innerText()).trim();
  check(report.first_reason.length > 0, "the reason says something");

  report.releases = await desk.locator("article.release").count();
  check(report.releases === rows - 1, `one release section per version after the first (${report.releases})`);
  report.wire_matrix = await desk.locator("#wire-matrix").isVisible();
  check(requests.length === 0, `the page loads nothing from elsewhere (${requests.join(", ")})`);
  // The screenshot shows the matrices with that cell open.
  await desk.locator("#compatibility").screenshot({ path: shot_path });

  // Phone: the page does not scroll sideways; the matrix scrolls inside its box.
  const phone = await browser.newPage({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
  await phone.goto(url);
  const widths = await phone.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    view: document.documentElement.clientWidth,
    font: parseFloat(getComputedStyle(document.body).fontSize),
  }));
  report.phone = widths;
  check(widths.page <= widths.view + 1, `no sideways scrolling on a phone (${widths.page} > ${widths.view})`);
  check(widths.font >= 14, `text stays readable on a phone (${widths.font}px)`);
  check(await phone.locator("#schema-matrix").isVisible(), "the matrix is visible on a phone");
  const first_row_head = await phone.locator("#schema-matrix tbody th").first().boundingBox();
  check(first_row_head && first_row_head.x >= 0 && first_row_head.x < 390, "row labels are on screen on a phone");
} finally {
  await browser.close();
}

console.log(JSON.stringify(report));
if (failures.length) {
  for (const f of failures) console.error(`failed: ${f}`);
  process.exit(1);
}
