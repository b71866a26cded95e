// Whether a browser takes a cookie marked SameSite=None: some older ones
// drop such a cookie entirely (Chrome 51-66 among them, iOS 12, Safari on
// macOS 10.14; the Chromium project lists them), so ingress-nginx's
// session-cookie-conditional-samesite-none leaves the attribute out for
// them. The same user agents as ingress-nginx, by the same substrings, so a
// client gets the cookie it got before: any "Chrome/4", "Chrome/5" or
// "Chrome/6" version, iPhone and iPad iOS 12, and Safari (not Chrome) on
// macOS 10.14. No User-Agent: compatible.

export function sameSiteNoneCompatible(userAgent: string | undefined): boolean {
  if (userAgent === undefined) return true;
  if (userAgent.includes('Chrome/4') || userAgent.includes('Chrome/5') || userAgent.includes('Chrome/6')) return false;
  if (userAgent.includes('CPU iPhone OS 12') || userAgent.includes('iPad; CPU OS 12')) return false;
  const macSafari = userAgent.includes('Macintosh') && userAgent.includes('Intel Mac OS X 10_14') && userAgent.includes('Safari') && !userAgent.includes('Chrome');
  return !macSafari;
}
