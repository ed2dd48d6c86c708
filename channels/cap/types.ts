/** The CAP channel's settings; the messages it archives are src/domain/cap-archive.ts's. */

export interface CapOptions {
  /** CAP <sender> (CAP_SENDER): no spaces, commas, < or &. */
  sender: string;
  /** JIS X 0402 code of the city: the geocode of a notice for the whole city. */
  cityCode: string;
  /**
   * areaDesc of a notice for the whole city. Optional because the notice's sender name
   * is the city's name (src/domain/notice-view.ts); set it when they differ.
   */
  cityName?: string;
}
