/**
 * JIS X 0402 local government codes: five digits and a check digit, computed as the
 * last digit of 11 minus (the digits weighted 6,5,4,3,2, modulo 11).
 */
export function jisX0402CheckDigit(first5: string): number {
  const weights = [6, 5, 4, 3, 2];
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += Number(first5[i]) * (weights[i] ?? 0);
  return (11 - (sum % 11)) % 10;
}

export function isJisX0402Code(code: string): boolean {
  if (!/^\d{6}$/.test(code)) return false;
  return jisX0402CheckDigit(code.slice(0, 5)) === Number(code[5]);
}
