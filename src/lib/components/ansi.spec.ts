import { describe, expect, it } from 'vitest';
import { AnsiLines, paletteColour } from './ansi';

const text = (parser: AnsiLines) => parser.lines.slice(0, parser.count).map((line) => line.tokens.map((t) => t.text).join(''));

describe('AnsiLines', () => {
	it('splits output into lines and styles colour runs with theme classes', () => {
		const parser = new AnsiLines();
		parser.push('plain \x1b[31mred\x1b[0m done\nsecond');
		expect(text(parser)).toEqual(['plain red done', 'second']);
		expect(parser.lines[0]!.tokens).toEqual([{ text: 'plain ' }, { text: 'red', className: 'ansi-red-fg' }, { text: ' done' }]);
	});

	it('carries a colour and a cut escape sequence across chunks', () => {
		const parser = new AnsiLines();
		parser.push('\x1b[1;32mgreen ');
		parser.push('still green\x1b[');
		parser.push('0m plain');
		const tokens = parser.lines[0]!.tokens;
		expect(tokens.map((t) => t.text).join('')).toBe('green still green plain');
		expect(tokens[1]).toEqual({ text: 'still green', className: 'ansi-green-fg ansi-bold' });
		expect(tokens.at(-1)).toEqual({ text: ' plain' });
	});

	it('grows the last line until its newline arrives, and reports where changes start', () => {
		const parser = new AnsiLines();
		expect(parser.push('a\nb')).toBe(0);
		expect(parser.push('c\n')).toBe(1);
		expect(text(parser)).toEqual(['a', 'bc']);
		expect(parser.count).toBe(2);
	});

	it('keeps markup as text: output never becomes HTML', () => {
		const parser = new AnsiLines();
		parser.push('<img src=x onerror=alert(1)>');
		expect(parser.lines[0]!.tokens).toEqual([{ text: '<img src=x onerror=alert(1)>' }]);
	});

	it('redraws a line on a carriage return (progress bars) and maps 256 and true colours to styles', () => {
		const parser = new AnsiLines();
		parser.push('10%\r50%\r100%\n\x1b[38;5;196mhot\x1b[0m \x1b[38;2;1;2;3mrgb');
		expect(text(parser)).toEqual(['100%', 'hot rgb']);
		expect(parser.lines[1]!.tokens[0]).toEqual({ text: 'hot', style: `color: ${paletteColour(196)};` });
		expect(parser.lines[1]!.tokens[2]).toEqual({ text: 'rgb', style: 'color: rgb(1, 2, 3);' });
	});
});
