import Anser from 'anser';

/*
 * Agent output as lines of styled text. Anser turns ANSI escape codes into plain tokens; the
 * components render those as text (Svelte escapes it), never as HTML, so output cannot inject
 * markup. Output arrives in chunks that may split a line or an escape sequence anywhere, and
 * Anser forgets its colours between calls: this module carries both across chunks, so each chunk
 * is parsed once and old lines are never parsed again.
 */

/** A run of text with one style. `className` names palette colours (themed in CSS). */
export interface AnsiToken {
	text: string;
	className?: string;
	style?: string;
}

export interface OutputLine {
	/** 1-based line number, stable while lines are appended. */
	n: number;
	tokens: AnsiToken[];
}

type Entry = ReturnType<Anser['ansiToJson']>[number] & { isInverted?: boolean };

const anser = new Anser();

const BASIC = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
const DECORATION_CODES: Record<string, number> = {
	bold: 1,
	dim: 2,
	italic: 3,
	underline: 4,
	blink: 5,
	hidden: 8,
	strikethrough: 9
};

/** Escape sequences (complete or cut off) at the very end of a chunk: held for the next one. */
const TRAILING_ESCAPES = /(?:\x1b\[[0-9;]*[A-Za-z])*(?:\x1b(?:\[[0-9;]*)?)?$/;

/** The SGR parameters that put a colour back, from Anser's class name. */
function colourCodes(name: string | null, truecolor: string | null, background: boolean): string[] {
	if (!name) return [];
	const base = background ? 40 : 30;
	const basic = BASIC.indexOf(name.replace(/^ansi-(bright-)?/, ''));
	if (name.startsWith('ansi-bright-') && basic >= 0) return [String(base + 60 + basic)];
	if (basic >= 0 && /^ansi-[a-z]+$/.test(name)) return [String(base + basic)];
	const palette = /^ansi-palette-(\d+)$/.exec(name);
	if (palette) return [`${base + 8};5;${palette[1]}`];
	if (name === 'ansi-truecolor' && truecolor) return [`${base + 8};2;${truecolor.replace(/\s/g, '').replace(/,/g, ';')}`];
	return [];
}

/** An escape sequence that restores the style `entry` was drawn in. */
function restore(entry: Entry): string {
	const inverted = entry.isInverted === true;
	const fg = inverted ? entry.bg : entry.fg;
	const bg = inverted ? entry.fg : entry.bg;
	const fgTrue = inverted ? entry.bg_truecolor : entry.fg_truecolor;
	const bgTrue = inverted ? entry.fg_truecolor : entry.bg_truecolor;
	const codes = [
		...[...new Set(entry.decorations)].map((d) => DECORATION_CODES[d]).filter((c): c is number => c !== undefined).map(String),
		...(inverted ? ['7'] : []),
		...colourCodes(fg, fgTrue, false),
		...colourCodes(bg, bgTrue, true)
	];
	return codes.length ? `\x1b[${codes.join(';')}m` : '';
}

/** xterm's 256-colour palette, for `38;5;N`. */
export function paletteColour(n: number): string {
	if (n < 16) return `var(--ansi-${n < 8 ? BASIC[n] : `bright-${BASIC[n - 8]}`})`;
	if (n >= 232) {
		const level = 8 + (n - 232) * 10;
		return `rgb(${level} ${level} ${level})`;
	}
	const i = n - 16;
	const step = (v: number) => (v === 0 ? 0 : 55 + v * 40);
	return `rgb(${step(Math.floor(i / 36))} ${step(Math.floor(i / 6) % 6)} ${step(i % 6)})`;
}

function colourStyle(name: string | null, truecolor: string | null, property: 'color' | 'background-color'): string {
	if (!name) return '';
	const palette = /^ansi-palette-(\d+)$/.exec(name);
	if (palette) return `${property}: ${paletteColour(Number(palette[1]))};`;
	if (name === 'ansi-truecolor' && truecolor) return `${property}: rgb(${truecolor});`;
	return '';
}

function tokenOf(entry: Entry, text: string): AnsiToken {
	const classes: string[] = [];
	if (entry.fg && !entry.fg.startsWith('ansi-palette') && entry.fg !== 'ansi-truecolor') classes.push(`${entry.fg}-fg`);
	if (entry.bg && !entry.bg.startsWith('ansi-palette') && entry.bg !== 'ansi-truecolor') classes.push(`${entry.bg}-bg`);
	// Anser lists a decoration again each time it is set.
	for (const decoration of new Set(entry.decorations)) classes.push(`ansi-${decoration}`);
	const style =
		colourStyle(entry.fg, entry.fg_truecolor, 'color') + colourStyle(entry.bg, entry.bg_truecolor, 'background-color');
	const token: AnsiToken = { text };
	if (classes.length) token.className = classes.join(' ');
	if (style) token.style = style;
	return token;
}

/**
 * Splits a growing stream of output into styled lines. `push` parses only the new text and
 * reports which lines changed: the last line grows until its newline arrives.
 */
export class AnsiLines {
	/** Every line so far; the last one may still grow. */
	lines: OutputLine[] = [{ n: 1, tokens: [] }];
	#pending = '';
	#carry = '';

	/** Parses `text` (the next part of the stream). Returns the index of the first line it changed. */
	push(text: string): number {
		const firstChanged = this.lines.length - 1;
		let input = this.#pending + text;
		const trailing = TRAILING_ESCAPES.exec(input)?.[0] ?? '';
		this.#pending = trailing;
		input = input.slice(0, input.length - trailing.length);
		if (!input) return firstChanged;

		const entries = anser.ansiToJson(this.#carry + input, { use_classes: true, remove_empty: true }) as Entry[];
		let current = this.lines[this.lines.length - 1]!;
		// The last line is replaced, not changed in place, so a renderer can compare by identity.
		let tokens = [...current.tokens];
		for (const entry of entries) {
			const parts = entry.content.split('\n');
			parts.forEach((part, i) => {
				if (i > 0) {
					this.lines[this.lines.length - 1] = { n: current.n, tokens };
					current = { n: current.n + 1, tokens: [] };
					this.lines.push(current);
					tokens = [];
				}
				// A carriage return not ending a line redraws it (progress bars): keep what follows.
				const cr = part.replace(/\r$/, '').lastIndexOf('\r');
				if (cr >= 0) {
					tokens = [];
					part = part.slice(cr + 1);
				}
				part = part.replace(/\r$/, '');
				if (part) tokens.push(tokenOf(entry, part));
			});
		}
		this.lines[this.lines.length - 1] = { n: current.n, tokens };
		const last = entries[entries.length - 1];
		if (last) this.#carry = restore(last);
		return firstChanged;
	}

	/** The number of lines with text, not counting an empty last line still waiting for text. */
	get count(): number {
		const last = this.lines[this.lines.length - 1]!;
		return last.tokens.length === 0 ? this.lines.length - 1 : this.lines.length;
	}
}
