/**
 * Code under test prints its ticket reversed (`os.environ["DKU_API_TICKET"][::-1]`): printed as it is,
 * Coffer masks it in the output like a secret value. This turns the printed form back into the ticket.
 */
export function printedTicket(printed: string | undefined): string {
  return printed ? [...printed].reverse().join('') : '';
}

/**
 * The ticket from a `TICKET <reversed>` line of a log, or '' while that line is not whole. A running job's
 * log can be read mid-line; a regex ending in `$` would then take the part printed so far for the ticket.
 */
export function ticketPrintedIn(log: string): string {
  return printedTicket(/^TICKET (\S+)\r?\n/m.exec(log)?.[1]);
}
