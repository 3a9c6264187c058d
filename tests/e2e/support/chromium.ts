/**
 * The Chromium the browser tests drive. Playwright's browser download does not work here, so we
 * use Debian's package (`apt-get install chromium`), or whatever $CHROMIUM_PATH points at.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
