/** Thousands apart by a narrow no-break space (SI style: "5 011"), whatever the browser's language. */
export const groupDigits = (n: number) => String(n).replace(/\B(?=(\d{3})+$)/g, '\u202f')

/**
 * How many incidents show: "5 011" with no filter on, "12 of 5 011" with
 * one (even if it hides none right now: the filter is on, and says so).
 */
export const incidentCount = (shown: number, total: number, filtered: boolean) =>
  filtered ? `${groupDigits(shown)} of ${groupDigits(total)}` : groupDigits(total)
