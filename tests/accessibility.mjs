//! The accessibility audit both harnesses run: axe-core with the WCAG 2.1 A and AA rules, and a
//! verdict that names every serious or critical violation by rule and element.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** axe-core's source, evaluated in the page by the test tool (never through the page's own CSP). */
export const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** What axe.run is given: the WCAG 2.1 A and AA rules only. */
export const AXE_OPTIONS = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] };

/**
 * The serious and critical violations of an axe result, one line each: impact, rule, and the
 * elements (their CSS selectors) with axe's own summary of what is wrong.
 * @param {{violations: {id: string, impact: string | null, help: string, nodes: {target: string[], failureSummary?: string}[]}[]}} result
 * @returns {string[]}
 */
export function seriousViolations(result) {
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id} (${v.help}) on ${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`));
}
