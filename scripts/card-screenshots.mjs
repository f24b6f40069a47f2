#!/usr/bin/env node
// Screenshots of the Drone card for the README/docs: docs/card-pass.png and
// docs/card-fail.png. templates/card.json is bound with renderCard's data for
// the two sample verdicts of test/helpers/cardSamples.ts (the ones
// test/unit/cardRender.test.ts renders in jsdom), rendered by the adaptivecards
// browser bundle (and its stylesheet) in headless Chromium, and captured with --screenshot.
// Not a test: it needs Chromium (Debian: apt-get install -y chromium; or set CHROMIUM).
//   node scripts/card-screenshots.mjs [outdir]      (default: docs/)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs'));
const chromium = process.env.CHROMIUM ?? 'chromium';
const WIDTH = 600;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'card-screenshots-'));
try {
  // renderCard, the template expander and the samples are TypeScript: bundle them (zod included) into one module.
  const cardsModule = path.join(tmp, 'cards.mjs');
  await build({
    stdin: {
      contents: [
        "export { renderCard } from './src/render/card.ts';",
        "export { expandTemplate } from './test/helpers/adaptiveCard.ts';",
        "export { PASS_VERDICT, FAIL_VERDICT } from './test/helpers/cardSamples.ts';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    outfile: cardsModule,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  const { renderCard, expandTemplate, PASS_VERDICT, FAIL_VERDICT } = await import(pathToFileURL(cardsModule).href);
  const template = JSON.parse(readFileSync(path.join(root, 'templates', 'card.json'), 'utf8'));
  const dist = path.join(path.dirname(createRequire(import.meta.url).resolve('adaptivecards/package.json')), 'dist');
  const bundle = readFileSync(path.join(dist, 'adaptivecards.min.js'), 'utf8');
  // The package's default stylesheet (buttons, inputs); the layout itself is inline styles from the renderer.
  const css = readFileSync(path.join(dist, 'adaptivecards.css'), 'utf8');

  const page = (card) => `<!doctype html>
<html><head><meta charset="utf-8"><title>card</title>
<style>${css}</style>
<style>
  html, body { margin: 0; background: #eef0f2; }
  body { padding: 16px; font-family: "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; }
  #card { width: ${WIDTH - 32}px; background: #fff; border: 1px solid #d8dce0; border-radius: 4px; overflow: hidden; }
  #problems { color: #b00; white-space: pre-wrap; }
</style>
<script>${bundle.replace(/<\/script/gi, '<\\/script')}</script>
</head><body><div id="card"></div><div id="problems"></div>
<script>
  const A = window.AdaptiveCards;
  A.AdaptiveCard.onProcessMarkdown = (_text, result) => { result.didProcess = false; };
  const card = new A.AdaptiveCard();
  card.hostConfig = new A.HostConfig({ fontFamily: '"Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif' });
  const context = new A.SerializationContext(A.Versions.v1_5);
  card.parse(${JSON.stringify(card).replace(/</g, '\\u003c')}, context);
  const problems = [];
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  for (const e of card.validateProperties().validationEvents) problems.push(e.message);
  document.getElementById('card').appendChild(card.render());
  document.getElementById('problems').textContent = problems.join('\\n');
  document.title = 'height=' + Math.ceil(document.documentElement.getBoundingClientRect().height) + ';problems=' + problems.length;
</script></body></html>`;

  const flags = (profile) => [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--hide-scrollbars',
    '--force-device-scale-factor=1',
    `--user-data-dir=${profile}`,
  ];
  const run = (args) =>
    execFileSync(chromium, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });

  mkdirSync(outDir, { recursive: true });
  for (const [name, verdict] of [
    ['pass', PASS_VERDICT],
    ['fail', FAIL_VERDICT],
  ]) {
    const card = expandTemplate(template, renderCard(verdict).data)[0];
    const html = path.join(tmp, `card-${name}.html`);
    writeFileSync(html, page(card));
    const url = pathToFileURL(html).href;
    // First pass: lay the page out and read its height (and the renderer's problems) from the title.
    const dom = run([
      ...flags(mkdtempSync(path.join(tmp, 'profile-'))),
      `--window-size=${WIDTH},2000`,
      '--dump-dom',
      url,
    ]);
    const m = /<title>height=(\d+);problems=(\d+)<\/title>/.exec(dom);
    if (!m) throw new Error(`card-${name}: the page did not render:\n${dom.slice(0, 2000)}`);
    if (m[2] !== '0')
      throw new Error(
        `card-${name}: the renderer reported ${m[2]} problem(s):\n${/<div id="problems">([^<]*)/.exec(dom)?.[1]}`,
      );
    const out = path.join(outDir, `card-${name}.png`);
    run([
      ...flags(mkdtempSync(path.join(tmp, 'profile-'))),
      `--window-size=${WIDTH},${m[1]}`,
      `--screenshot=${out}`,
      url,
    ]);
    console.log(`wrote ${path.relative(process.cwd(), out)} (${WIDTH}x${m[1]})`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
