// The real Adaptive Cards renderer (the `adaptivecards` package, the one web
// hosts such as the Drone UI use) in a jsdom window. Its browser bundle
// (dist/adaptivecards.min.js, swiper included) runs inside the window, so the
// library sees a DOM exactly as in a browser; the package's lib/ build is
// extensionless ESM for bundlers and does not load in Node.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { JSDOM, VirtualConsole } from 'jsdom';
import type * as AC from 'adaptivecards';

const require = createRequire(import.meta.url);
export const ADAPTIVECARDS_BUNDLE = path.join(
  path.dirname(require.resolve('adaptivecards/package.json')),
  'dist',
  'adaptivecards.min.js',
);

export interface Problem {
  phase: string;
  event: string;
  message: string;
}

export interface Rendered {
  card: AC.AdaptiveCard;
  element: HTMLElement;
  /** Parse events (SerializationContext) and validateProperties() failures, by name. */
  problems: Problem[];
  /** What the library wrote to the window's console (warn/error). */
  console: string[];
  window: Window & typeof globalThis;
  AdaptiveCards: typeof AC;
}

/** Parses `json` as an Adaptive Card of the given version and renders it into a fresh jsdom window. */
export function renderAdaptiveCard(json: unknown, version: '1.5' | '1.6' = '1.5'): Rendered {
  const logged: string[] = [];
  const virtualConsole = new VirtualConsole();
  for (const level of ['warn', 'error'] as const)
    virtualConsole.on(level, (...args: unknown[]) => logged.push(`${level}: ${args.map(String).join(' ')}`));
  virtualConsole.on('jsdomError', (e: Error) => logged.push(`jsdomError: ${e.message}`));
  const dom = new JSDOM('<!doctype html><html><body></body></html>', {
    runScripts: 'outside-only',
    pretendToBeVisual: true,
    virtualConsole,
  });
  const window = dom.window as unknown as Window &
    typeof globalThis & { AdaptiveCards: typeof AC; eval: (src: string) => unknown };
  // jsdom has no layout, so no innerText; the library writes TextBlock text with it. Our texts
  // carry no newline (renderCard flattens them), so textContent is what a browser would do.
  Object.defineProperty(window.HTMLElement.prototype, 'innerText', {
    configurable: true,
    get(this: HTMLElement) {
      return this.textContent;
    },
    set(this: HTMLElement, value: string) {
      this.textContent = value;
    },
  });
  window.eval(readFileSync(ADAPTIVECARDS_BUNDLE, 'utf8'));
  const A = window.AdaptiveCards;
  // Plain text, no Markdown (and no "Markdown processing isn't enabled" warning): the card's texts are plain.
  A.AdaptiveCard.onProcessMarkdown = (_text, result) => {
    result.didProcess = false;
  };

  const context = new A.SerializationContext(version === '1.5' ? A.Versions.v1_5 : A.Versions.v1_6);
  const card = new A.AdaptiveCard();
  card.parse(json, context);
  const problems: Problem[] = [];
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push({ phase: A.ValidationPhase[e.phase], event: A.ValidationEvent[e.event], message: e.message });
  }
  for (const e of card.validateProperties().validationEvents)
    problems.push({ phase: A.ValidationPhase[e.phase], event: A.ValidationEvent[e.event], message: e.message });

  const element = card.render();
  if (!element) throw new Error(`the card did not render: ${JSON.stringify(problems)}`);
  window.document.body.appendChild(element);
  return { card, element, problems, console: logged, window, AdaptiveCards: A };
}
