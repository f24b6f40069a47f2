// A hand-written Adaptive Card 1.5 schema for the elements templates/card.json
// uses (strict: an unknown property or enum value fails), and a small
// Adaptive Card Templating expander ($data, $when, ${field}, ${$data}) to bind
// our card data into the template the way the Drone UI does.
import { z } from 'zod';

const Spacing = z.enum(['None', 'Small', 'Default', 'Medium', 'Large', 'ExtraLarge', 'Padding']);
const Color = z.enum(['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention']);
const common = {
  id: z.string().optional(),
  spacing: Spacing.optional(),
  separator: z.boolean().optional(),
  isVisible: z.boolean().optional(),
};

const TextBlock = z
  .object({
    type: z.literal('TextBlock'),
    text: z.string(),
    size: z.enum(['Default', 'Small', 'Medium', 'Large', 'ExtraLarge']).optional(),
    weight: z.enum(['Default', 'Lighter', 'Bolder']).optional(),
    color: Color.optional(),
    isSubtle: z.boolean().optional(),
    wrap: z.boolean().optional(),
    maxLines: z.number().int().positive().optional(),
    fontType: z.enum(['Default', 'Monospace']).optional(),
    horizontalAlignment: z.enum(['Left', 'Center', 'Right']).optional(),
    ...common,
  })
  .strict();

const FactSet = z
  .object({
    type: z.literal('FactSet'),
    facts: z.array(z.object({ title: z.string(), value: z.string() }).strict()),
    ...common,
  })
  .strict();

type Element = z.infer<typeof TextBlock> | z.infer<typeof FactSet> | { type: 'Container' | 'ColumnSet' };

const Column: z.ZodType = z.lazy(() =>
  z
    .object({
      type: z.literal('Column'),
      width: z.union([z.enum(['auto', 'stretch']), z.string().regex(/^\d+px$/), z.number().positive()]).optional(),
      verticalContentAlignment: z.enum(['Top', 'Center', 'Bottom']).optional(),
      items: z.array(ElementSchema),
      ...common,
    })
    .strict(),
);

const ElementSchema: z.ZodType<Element> = z.lazy(
  () =>
    z.union([
      TextBlock,
      FactSet,
      z
        .object({
          type: z.literal('Container'),
          items: z.array(ElementSchema),
          style: z.enum(['default', 'emphasis', 'good', 'attention', 'warning', 'accent']).optional(),
          ...common,
        })
        .strict(),
      z.object({ type: z.literal('ColumnSet'), columns: z.array(Column), ...common }).strict(),
    ]) as z.ZodType<Element>,
);

const OpenUrl = z.object({ type: z.literal('Action.OpenUrl'), title: z.string(), url: z.url() }).strict();

export const AdaptiveCard15 = z
  .object({
    $schema: z.url().optional(),
    type: z.literal('AdaptiveCard'),
    version: z.literal('1.5'),
    body: z.array(ElementSchema),
    actions: z.array(OpenUrl).optional(),
  })
  .strict();

type Scope = Record<string, unknown>;

function lookup(scope: Scope, key: string): unknown {
  if (key === '$data') return '$data' in scope ? scope.$data : scope;
  return key.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Scope)[k] : undefined), scope);
}

function bindString(text: string, scope: Scope): unknown {
  const whole = /^\$\{([^}]+)\}$/.exec(text);
  if (whole) {
    const v = lookup(scope, whole[1]);
    return v === undefined ? text : v;
  }
  return text.replace(/\$\{([^}]+)\}/g, (m, key: string) => {
    const v = lookup(scope, key);
    return v === undefined ? m : String(v);
  });
}

/** `${x != ''}` and `${x}` are the only $when forms the template uses. */
function when(expr: string, scope: Scope): boolean {
  const m = /^\$\{\s*([A-Za-z0-9_.$]+)\s*!=\s*''\s*\}$/.exec(expr);
  if (m) return lookup(scope, m[1]) !== '' && lookup(scope, m[1]) !== undefined;
  return Boolean(bindString(expr, scope));
}

/** Expands one template value; array items with `$data` become one item per element (or none). */
export function expandTemplate(node: unknown, scope: Scope): unknown[] {
  if (typeof node === 'string') return [bindString(node, scope)];
  if (Array.isArray(node)) return [node.flatMap((n) => expandTemplate(n, scope))];
  if (!node || typeof node !== 'object') return [node];
  const obj = node as Scope;
  if ('$data' in obj) {
    const { $data, ...rest } = obj;
    const bound = bindString(String($data), scope);
    const items = Array.isArray(bound) ? bound : [bound];
    return items.flatMap((item) =>
      expandTemplate(rest, item && typeof item === 'object' ? (item as Scope) : { $data: item }),
    );
  }
  if ('$when' in obj) {
    const { $when, ...rest } = obj;
    return when(String($when), scope) ? expandTemplate(rest, scope) : [];
  }
  return [Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, expandTemplate(v, scope)[0]]))];
}
