// Built-in cities (state, ZIP prefix and area codes consistent with each other) and street names.

import { list } from "./list.ts";
import type { Weighted } from "./prng.ts";

/** A city patients can live in: every ZIP drawn for it starts with `zip3`, every phone with one of `areaCodes`. */
export interface City {
  readonly city: string;
  readonly state: string;
  readonly zip3: string;
  readonly areaCodes: readonly string[];
}

/**
 * The 3-digit ZIP prefixes HHS lists as covering 20,000 people or fewer (Safe Harbor, 2000 census): ZIPs in them
 * must be generalized to `000`.
 */
export const RESTRICTED_ZIP3 = list(
  "036, 059, 063, 102, 203, 556, 692, 790, 821, 823, 830, 831, 878, 879, 884, 890, 893",
);

const CITY_TABLE = `
  Boston|MA|021|617 857|60
  Springfield|MA|011|413|12
  Hartford|CT|061|860 959|14
  New London|CT|063|860|1
  Providence|RI|029|401|16
  Burlington|VT|054|802|8
  Canaan|VT|059|802|1
  Manchester|NH|031|603|10
  Charlestown|NH|036|603|1
  New York|NY|100|212 646 917|80
  New York|NY|102|212 646|1
  Brooklyn|NY|112|718 347 929|60
  Albany|NY|122|518|12
  Buffalo|NY|142|716|18
  Philadelphia|PA|191|215 267 445|50
  Pittsburgh|PA|152|412 878|22
  Baltimore|MD|212|410 443 667|24
  Washington|DC|200|202 771|26
  Washington|DC|203|202|1
  Richmond|VA|232|804|14
  Charlotte|NC|282|704 980|30
  Raleigh|NC|276|919 984|20
  Atlanta|GA|303|404 470 678 770|34
  Miami|FL|331|305 786|30
  Orlando|FL|328|407 689|22
  Tampa|FL|336|813 656|22
  Nashville|TN|372|615 629|24
  Columbus|OH|432|614 380|26
  Cleveland|OH|441|216|18
  Detroit|MI|482|313|26
  Chicago|IL|606|312 773 872|70
  Indianapolis|IN|462|317 463|24
  Milwaukee|WI|532|414|18
  Minneapolis|MN|554|612|22
  Grand Marais|MN|556|218|1
  Saint Louis|MO|631|314 557|18
  Kansas City|MO|641|816|18
  Omaha|NE|681|402 531|14
  Valentine|NE|692|402|1
  New Orleans|LA|701|504|16
  Dallas|TX|752|214 469 972|40
  Houston|TX|770|713 281 832|60
  Austin|TX|787|512 737|30
  Pampa|TX|790|806|1
  Oklahoma City|OK|731|405 572|18
  Denver|CO|802|303 720 983|28
  Cheyenne|WY|820|307|3
  Yellowstone National Park|WY|821|307|1
  Rawlins|WY|823|307|1
  Jackson|WY|830|307|1
  Afton|WY|831|307|1
  Salt Lake City|UT|841|801 385|16
  Phoenix|AZ|850|602 480 623|40
  Tucson|AZ|857|520|18
  Albuquerque|NM|871|505|16
  Socorro|NM|878|575|1
  Truth or Consequences|NM|879|575|1
  Tucumcari|NM|884|575|1
  Las Vegas|NV|891|702 725|26
  Mesquite|NV|890|702|1
  Ely|NV|893|775|1
  Seattle|WA|981|206 564|30
  Spokane|WA|992|509|10
  Portland|OR|972|503 971|24
  San Francisco|CA|941|415 628|30
  Los Angeles|CA|900|213 310 323 424|80
  San Diego|CA|921|619 858|36
  Sacramento|CA|958|916 279|20
  Honolulu|HI|968|808|10
  Anchorage|AK|995|907|8`;

/** The built-in cities, each weighted by roughly its share of patients (restricted-ZIP towns are small). */
export const CITIES: readonly Weighted<City>[] = CITY_TABLE.trim()
  .split("\n")
  .map((line) => {
    const [city = "", state = "", zip3 = "", areaCodes = "", weight = "0"] = line.trim().split("|");
    return [{ city, state, zip3, areaCodes: areaCodes.split(" ") }, Number(weight)] as const;
  });

/** Street names for synthetic addresses. */
export const STREET_NAMES = list(`
  Oak, Maple, Cedar, Pine, Elm, Washington, Lake, Hill, Park, Main, Sunset, Lincoln, Jefferson, Highland,
  River, Church, Meadow, Forest, Spring, Willow, Chestnut, Walnut, Cherry, Birch, Sycamore, Ridge, Valley,
  Center, Mill, Prospect, Harbor, Orchard, Juniper, Magnolia, Aspen, Laurel, Franklin, Madison, Monroe`);

/** Street suffixes for synthetic addresses. */
export const STREET_SUFFIXES = list("St, Ave, Rd, Ln, Dr, Ct, Blvd, Way, Pl, Ter");
