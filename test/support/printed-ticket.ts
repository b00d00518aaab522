/**
 * Code under test prints its ticket reversed (`os.environ["DKU_API_TICKET"][::-1]`): printed as it is,
 * Coffer masks it in the output like a secret value. This turns the printed form back into the ticket.
 */
export function printedTicket(printed: string | undefined): string {
  return printed ? [...printed].reverse().join('') : '';
}
