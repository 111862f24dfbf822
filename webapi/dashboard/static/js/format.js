// How numbers, sizes and instants read on the page.

const integer = new Intl.NumberFormat("en-US");

export const format = {
  int: (value) => (value === null || value === undefined ? "–" : integer.format(value)),
  pct: (value) => (value === null || value === undefined ? "–" : `${value.toFixed(2)} %`),
  bytes(value) {
    if (value === null || value === undefined) return "–";
    const units = ["B", "KB", "MB", "GB"];
    let size = value;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return `${unit ? size.toFixed(1) : size} ${units[unit]}`;
  },
  time(iso, timezone) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat("en-GB", {
      dateStyle: "medium", timeStyle: "short", timeZone: timezone,
    }).format(new Date(iso));
  },
  clock(iso, timezone) {
    return new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: timezone })
      .format(new Date(iso));
  },
  label: (name) => name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()),
};
