// The user agents ingress-nginx's session-cookie-conditional-samesite-none
// treats as dropping SameSite=None cookies, and ones it does not (user
// agent strings as the browsers send them).
import { expect, test } from 'vitest';
import { sameSiteNoneCompatible } from '../../../../src/ingress/runtime/same-site-none.ts';

const incompatible = {
  'Chrome 51': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.103 Safari/537.36',
  'Chromium 66': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/66.0.3359.181 Chrome/66.0.3359.181 Safari/537.36',
  'Chrome 49 (also listed by ingress-nginx)': 'Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/49.0.2623.112 Safari/537.36',
  'iOS 12 iPhone': 'Mozilla/5.0 (iPhone; CPU iPhone OS 12_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1',
  'iOS 12 iPad': 'Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1 Mobile/15E148 Safari/604.1',
  'Safari on macOS 10.14': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Safari/605.1.15',
};
const compatible = {
  'Chrome 120': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Chrome on macOS 10.14': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.169 Safari/537.36',
  'iOS 13': 'Mozilla/5.0 (iPhone; CPU iPhone OS 13_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1',
  'Safari on macOS 10.15': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.3 Safari/605.1.15',
  'Firefox': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  curl: 'curl/8.5.0',
};

test.each(Object.entries(incompatible))('%s: SameSite=None left out', (_name, ua) => expect(sameSiteNoneCompatible(ua)).toBe(false));
test.each(Object.entries(compatible))('%s: SameSite=None kept', (_name, ua) => expect(sameSiteNoneCompatible(ua)).toBe(true));
test('no User-Agent: kept', () => expect(sameSiteNoneCompatible(undefined)).toBe(true));
