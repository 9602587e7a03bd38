// Text widths for the lab pictures, so that labels can be laid out without overlapping before any renderer
// sees them. The pictures name DejaVu Sans first (installed with most Linux desktops and with Debian's
// fonts-dejavu-core; wider than the Helvetica and Arial named after it as fallbacks). These are its advance
// widths in font units (unitsPerEm 2048), read from DejaVuSans.ttf and DejaVuSans-Bold.ttf (hmtx), for ASCII
// 32..126 and the few other characters the labs print. A character not listed counts as a full em, wider
// than any listed one.
const UNITS_PER_EM = 2048;
/** hhea ascender and descender, as fractions of the font size. */
export const ASCENT = 1901 / UNITS_PER_EM;
export const DESCENT = 483 / UNITS_PER_EM;

const REGULAR_ASCII = [
  651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303,
  1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577, 1294,
  1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403,
  1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186,
  569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
];
const BOLD_ASCII = [
  713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748, 1425, 1425, 1425,
  1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188, 2048, 1585, 1561, 1503, 1700, 1399,
  1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741, 1501, 1741, 1577, 1475, 1397, 1663, 1585, 2259, 1579,
  1483, 1485, 936, 748, 936, 1716, 1024, 1024, 1382, 1466, 1214, 1466, 1389, 891, 1466, 1458, 702, 702, 1362,
  702, 2134, 1458, 1407, 1466, 1466, 1010, 1219, 979, 1458, 1335, 1892, 1321, 1335, 1192, 1458, 748, 1458, 1716,
];
const REGULAR_OTHER: Record<string, number> = { '→': 1716, '←': 1716, '↔': 1716, '×': 1716, '·': 651, '–': 1024, '—': 2048, '…': 2048, '▲': 1575, '▼': 1575, '◆': 1575, '●': 1787, '○': 1787, '✔': 1716, '✘': 1716, '’': 651, '‘': 651, '“': 1061, '”': 1061, '≤': 1716, '≥': 1716, '≈': 1716, 'µ': 1303, '│': 1233, '─': 1233, '▸': 1028, '•': 1208, '′': 465 };
const BOLD_OTHER: Record<string, number> = { '→': 1716, '←': 1716, '↔': 1716, '×': 1716, '·': 778, '–': 1024, '—': 2048, '…': 2048, '▲': 1575, '▼': 1575, '◆': 1575, '●': 1787, '○': 1787, '✔': 1716, '✘': 1716, '’': 778, '‘': 778, '“': 1346, '”': 1346, '≤': 1716, '≥': 1716, '≈': 1716, 'µ': 1507, '│': 1233, '─': 1233, '▸': 1028, '•': 1309, '′': 540 };

/** The advance width of `text` in pixels at `size` px (DejaVu Sans, or its bold). */
export function textWidth(text: string, size: number, bold = false): number {
  const ascii = bold ? BOLD_ASCII : REGULAR_ASCII;
  const other = bold ? BOLD_OTHER : REGULAR_OTHER;
  let units = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    units += c >= 32 && c <= 126 ? ascii[c - 32]! : (other[ch] ?? UNITS_PER_EM);
  }
  return (units / UNITS_PER_EM) * size;
}
