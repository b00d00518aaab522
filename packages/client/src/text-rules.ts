/*
 * The rules every text the API stores must follow (docs/adr/0018-text-rules.md). The server turns a
 * problem into a 400 naming the field; the web UI shows the same sentence as a person types. Pure
 * functions: no Node or DOM APIs.
 *
 * - All text must be valid Unicode: a lone UTF-16 surrogate (which JSON can carry as "\ud800") has no
 *   UTF-8 encoding, so SQLite would keep broken bytes and PostgreSQL a U+FFFD in its place.
 * - Single-line text (names, labels, logins, emails, keys) refuses every control character: C0 (NUL
 *   included), DEL and C1, and the Unicode line and paragraph separators. Such characters make one name
 *   look like another, break log lines and terminals, and PostgreSQL cannot store NUL at all.
 * - Multi-line text (code, descriptions) allows tab, line feed and carriage return and no other control
 *   character: NUL or an escape sequence in code is never what its author meant to share.
 */

export interface TextRule {
  /** The most characters (Unicode code points, as a person counts them) the text may have. */
  max?: number;
  /** Tab, line feed and carriage return are allowed: code and descriptions. */
  multiline?: boolean;
  /** The text must not be empty. */
  required?: boolean;
}

/** In unicode mode this matches only unpaired surrogates: text that has no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** \p{Cc} is exactly C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F). */
const LINE_CONTROL = /[\p{Cc}\u2028\u2029]/u;
const MULTILINE_CONTROL = /(?![\t\n\r])\p{Cc}/u;

/** U+0000 for NUL: how a message names a character that cannot be shown. */
export function codePointName(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Whether the text is valid Unicode, that is, has a UTF-8 encoding (String#isWellFormed, everywhere). */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** The problem with a lone surrogate in a field, in the one wording every field uses. */
export function malformedTextProblem(field: string): string {
  return `${field} must be valid Unicode text: it has a lone UTF-16 surrogate, which has no UTF-8 encoding`;
}

/** Why `value` is refused as the text of `field`, in one sentence naming the field; null if it is fine. */
export function textProblem(field: string, value: string, rule: TextRule = {}): string | null {
  if (rule.required && value.length === 0) return `${field} must not be empty`;
  // Cheap first: a string within the limit in UTF-16 units is within it in characters too.
  if (rule.max !== undefined && value.length > rule.max) {
    const chars = [...value].length; // as a person counts them: an emoji is one, not two UTF-16 units
    if (chars > rule.max) return `${field} must be at most ${rule.max} characters long (got ${chars})`;
  }
  if (!isWellFormedText(value)) return malformedTextProblem(field);
  const control = (rule.multiline ? MULTILINE_CONTROL : LINE_CONTROL).exec(value);
  if (control) {
    const which = codePointName(control[0]);
    if (!rule.multiline) return `${field} must not contain control characters (found ${which})`;
    const line = value.slice(0, control.index).split('\n').length;
    return `${field} must not contain control characters other than tab and line breaks (found ${which} on line ${line})`;
  }
  return null;
}
