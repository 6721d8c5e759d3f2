#include "progress.h"

#include <stdio.h>

#include "draw.h"
#include "theme.h"

void progress_eta(char *buf, int n, double frac, int64_t elapsed_ms)
{
	int64_t left_s;

	buf[0] = '\0';
	/* too early to say: the first percent says little about the rest */
	if (elapsed_ms <= 0 || frac < 0.02 || frac >= 1.0)
		return;
	left_s = (int64_t)((double)elapsed_ms * (1.0 - frac) / frac / 1000.0 + 0.5);
	if (left_s >= 3600)
		snprintf(buf, (size_t)n, "%lld:%02lld:%02lld left", (long long)(left_s / 3600),
			 (long long)(left_s / 60 % 60), (long long)(left_s % 60));
	else
		snprintf(buf, (size_t)n, "%lld:%02lld left", (long long)(left_s / 60), (long long)(left_s % 60));
}

void progress_draw(WINDOW *w, int y, int x, int cols, double frac, int64_t elapsed_ms, attr_t text)
{
	char pct[8], eta[32];
	int bar, filled, used;

	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	/* rounded down: 100 % only once it is all there */
	snprintf(pct, sizeof(pct), "%3d%%", (int)(frac * 100));
	progress_eta(eta, sizeof(eta), frac, elapsed_ms);
	/* the bar gets what the numbers leave, 4 columns at least */
	bar = cols - 5 - (eta[0] ? 12 : 0);
	if (bar < 4) {
		ui_put(w, y, x, cols, text, pct);
		return;
	}
	if (bar > 40)
		bar = 40;
	filled = (int)(frac * bar + 0.5);
	for (int i = 0; i < bar; i++) {
		ui_add(w, y, x + i, 1, i < filled ? theme_attr(ROLE_PROGRESS) : text,
		       glyph(i < filled ? GLYPH_BAR_FULL : GLYPH_BAR_EMPTY));
	}
	used = bar;
	used += ui_add(w, y, x + used, cols - used, text, " ");
	used += ui_add(w, y, x + used, cols - used, text, pct);
	if (eta[0]) {
		used += ui_add(w, y, x + used, cols - used, text, " ");
		used += ui_add(w, y, x + used, cols - used, text, eta);
	}
	ui_fill(w, y, x + used, cols - used, text);
}
