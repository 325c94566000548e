/** Word lists for readable, varied names. Accented entries exist so Unicode defects have something to decompose. */
export const CATEGORIES = ['Electronics', 'Home & Kitchen', 'Books', 'Toys', 'Sports', 'Beauty', 'Garden', 'Fashion', 'Café Supplies', 'Office', 'Pet Supplies', 'Automotive'];
export const ADJECTIVES = ['Classic', 'Smart', 'Compact', 'Deluxe', 'Eco', 'Ultra', 'Crème', 'Rustic', 'Pro', 'Mini', 'Soirée', 'Nordic', 'Vintage', 'Turbo', 'Élan', 'Solid'];
export const NOUNS = ['Widget', 'Gadget', 'Kettle', 'Lamp', 'Backpack', 'Blender', 'Notebook', 'Puzzle', 'Racket', 'Serum', 'Planter', 'Jacket', 'Grinder', 'Chair', 'Collar', 'Charger', 'Purée Press', 'Headphones'];
export const FIRST_NAMES = ['Ana', 'José', 'Zoë', 'Renée', 'Liam', 'Noah', 'Emma', 'Olivia', 'Mia', 'Lucas', 'Chloé', 'Björn', 'Aiko', 'Raj', 'Fatima', 'Kofi', 'Léa', 'Mateo', 'Sofia', 'Jürgen'];
export const LAST_NAMES = ['Smith', 'García', 'Müller', 'Dubois', 'Rossi', 'Nguyen', 'Kowalski', 'Johansson', 'Tanaka', 'Patel', 'Okafor', 'Silva', 'Brown', 'Lefèvre', 'Novák'];

/** Skewed like a real Western shop's customer base: a handful of countries carry most customers. */
export const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'CA', 'NL', 'ES', 'IT', 'AU', 'SE', 'PL', 'BR', 'JP', 'IN', 'MX', 'IE'];
export const COUNTRY_WEIGHTS = [34, 12, 10, 8, 6, 5, 4, 4, 4, 3, 3, 2, 2, 1.5, 1, 0.5];

export const WAREHOUSES = ['WH-US', 'WH-EU', 'WH-APAC'] as const;
const APAC = new Set(['AU', 'JP', 'IN']);
const AMERICAS = new Set(['US', 'CA', 'BR', 'MX']);

export function warehouseFor(country: string): number {
  return AMERICAS.has(country) ? 0 : APAC.has(country) ? 2 : 1;
}

/** Relative traffic per UTC hour: quiet at night, peaking in the (US+EU) evening. */
export const HOURLY_TRAFFIC = [2, 1.5, 1, 0.8, 0.8, 1.2, 2, 3, 4, 5, 5.5, 6, 6, 6, 6, 6.2, 6.5, 7, 8, 9, 9, 8, 6, 4];

export const REVIEW_TEXTS = [
  ['Broke after a week.', 'Not as described.'],
  ['Disappointing quality.', 'Would not buy again.'],
  ['It is okay.', 'Does the job, nothing more.'],
  ['Good value.', 'Works well, arrived quickly.'],
  ['Excellent!', 'Love it, exactly what I needed.'],
] as const;
