import { describe, expect, it, vi } from 'vitest';
import { TailFollow } from './tail-follow';

/** A scrolling panel that counts layout reads (each one forces a layout in a browser). */
class FakePanel {
	readonly listeners = new Map<string, (event: object) => void>();
	layoutReads = 0;
	#scrollTop = 0;
	height = 5_000;
	readonly clientHeight = 500;
	get scrollHeight(): number {
		this.layoutReads++;
		return this.height;
	}
	get scrollTop(): number {
		this.layoutReads++;
		return this.#scrollTop;
	}
	set scrollTop(value: number) {
		this.#scrollTop = Math.min(value, this.height - this.clientHeight);
	}
	addEventListener(type: string, listener: (event: object) => void): void {
		this.listeners.set(type, listener);
	}
	removeEventListener(type: string): void {
		this.listeners.delete(type);
	}
	fire(type: string, event: object = {}): void {
		(this.listeners.get(type) as ((event: object) => void) | undefined)?.(event);
	}
}

function attach(following = true) {
	const panel = new FakePanel();
	const changes: boolean[] = [];
	const follow = new TailFollow((value) => changes.push(value), following);
	follow.attach(panel as unknown as HTMLElement);
	return { panel, follow, changes };
}

describe('TailFollow', () => {
	it('while following a stream, its own scrolls read no layout (no forced layout per frame)', () => {
		const { panel, follow, changes } = attach();
		for (let frame = 0; frame < 50; frame++) {
			panel.height += 2_000; // rows arrived
			follow.stick();
			panel.fire('scroll'); // the scroll the stick caused, and the list measuring rows
			panel.fire('scroll');
		}
		// One read per stick (how tall the content is now), none in the scroll handler.
		expect(panel.layoutReads).toBe(50);
		expect(changes).toEqual([]);
		expect(panel.scrollTop).toBe(panel.height - panel.clientHeight);
	});

	it('the person scrolling up stops following; scrolling back to the bottom resumes it', () => {
		const { panel, follow, changes } = attach();
		follow.stick();
		panel.fire('wheel');
		panel.scrollTop = 1_000;
		panel.fire('scroll');
		expect(follow.following).toBe(false);
		panel.height += 2_000;
		follow.stick(); // not following: stays where the person is
		expect(panel.scrollTop).toBe(1_000);
		panel.fire('wheel');
		panel.scrollTop = panel.height;
		panel.fire('scroll');
		expect(changes).toEqual([false, true]);
	});

	it('a scroll without the person (the list correcting itself) never stops following', () => {
		const { panel, follow } = attach();
		vi.spyOn(performance, 'now').mockReturnValue(1_000_000);
		panel.scrollTop = 100;
		panel.fire('scroll');
		expect(follow.following).toBe(true);
		vi.restoreAllMocks();
	});

	it('a wheel upwards stops following at once, even when rows arrive before its scroll event', () => {
		const { panel, follow, changes } = attach();
		follow.stick();
		panel.fire('wheel', { deltaY: -300 });
		panel.height += 2_000; // rows arrived between the wheel and its scroll
		follow.stick(); // must not pull the panel back down
		const kept = panel.scrollTop;
		panel.scrollTop = kept - 300;
		panel.fire('scroll');
		expect(follow.following).toBe(false);
		expect(changes).toEqual([false]);
		expect(panel.scrollTop).toBe(kept - 300);
	});

	it('a wheel downwards, or upwards in a panel that cannot scroll, keeps following', () => {
		const { panel, follow } = attach();
		panel.fire('wheel', { deltaY: 300 });
		expect(follow.following).toBe(true);
		panel.height = 400; // shorter than the panel
		panel.fire('wheel', { deltaY: -300 });
		expect(follow.following).toBe(true);
	});

	it('a smooth wheel scroll upwards stays paused through its first frames near the bottom', () => {
		const { panel, follow, changes } = attach();
		follow.stick();
		const bottom = panel.scrollTop;
		panel.fire('wheel', { deltaY: -1_500 });
		// Chromium animates the wheel: the first frames are still within 32 px of the bottom.
		for (const step of [10, 25, 60, 200, 700, 1_500]) {
			panel.scrollTop = bottom - step;
			panel.fire('scroll');
			panel.height += 200; // rows keep arriving
			follow.stick();
		}
		expect(changes).toEqual([false]);
		expect(panel.scrollTop).toBe(bottom - 1_500);
	});
});
