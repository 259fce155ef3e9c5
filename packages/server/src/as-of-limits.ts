/** As-of questions one principal may have in progress at once unless ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL says otherwise. */
export const DEFAULT_AS_OF_PER_PRINCIPAL = 4;
