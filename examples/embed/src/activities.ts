/** The team's own activities: whatever it already runs. Here, one that writes the day's note. */
export async function composeNote(team: string, ds: string): Promise<string> {
  return `${team} report for ${ds}`;
}
