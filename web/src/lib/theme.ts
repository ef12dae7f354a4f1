// Applies the theme setting: light, dark, or whatever the system prefers (and follows its changes).
export type Theme = "light" | "dark" | "system";

const key = "parley:theme";
let media: MediaQueryList | null = null;

function apply(theme: Theme) {
  const dark = theme === "dark" || (theme === "system" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
  document.documentElement.classList.toggle("dark", !!dark);
}

export function setTheme(theme: Theme) {
  try {
    localStorage.setItem(key, theme);
  } catch {
    // Private mode: the theme still applies for this page.
  }
  apply(theme);
}

/** At start-up, before the settings arrive: the theme last used on this browser. */
export function initTheme() {
  let theme: Theme = "system";
  try {
    theme = (localStorage.getItem(key) as Theme) ?? "system";
  } catch {
    // Keep "system".
  }
  apply(theme);
  media = window.matchMedia?.("(prefers-color-scheme: dark)") ?? null;
  media?.addEventListener("change", () => {
    let current: Theme = "system";
    try {
      current = (localStorage.getItem(key) as Theme) ?? "system";
    } catch {
      // Keep "system".
    }
    apply(current);
  });
}
