import { isJisX0402Code } from './jis-x0402.ts';

/**
 * Area codes residents and notices use. A municipality has a JIS X 0402 code (432105);
 * its districts (地区) have none of their own, so a district is named by its
 * municipality's code, a hyphen and a short local suffix (432105-01). The prefix keeps
 * every district tied to a real code, which is what the CAP feed's geocode needs.
 */
const DISTRICT = /^(\d{6})-([0-9a-z]{1,16})$/;

export function isDistrictId(code: string): boolean {
  const match = DISTRICT.exec(code);
  return match !== null && isJisX0402Code(match[1] as string);
}

export function isAreaCode(code: string): boolean {
  return isJisX0402Code(code) || isDistrictId(code);
}

/** The JIS X 0402 code an area lies in: the code itself for a municipality, the prefix for a district. */
export function municipalityCode(code: string): string {
  return isDistrictId(code) ? code.slice(0, 6) : code;
}
