// Built-in given names and surnames for synthetic patients (common names, combined at random).

import { list } from "./list.ts";

/** Given names for patients recorded as sex F. */
export const FEMALE_FIRST_NAMES = list(`
  Olivia, Emma, Ava, Sophia, Isabella, Mia, Amelia, Harper, Evelyn, Abigail, Emily, Elizabeth, Sofia,
  Madison, Ella, Scarlett, Victoria, Aria, Chloe, Camila, Penelope, Layla, Zoey, Nora, Lily, Eleanor, Hannah,
  Lillian, Addison, Aubrey, Ellie, Stella, Natalie, Leah, Hazel, Violet, Aurora, Savannah, Audrey, Claire,
  Lucy, Anna, Caroline, Maria, Mariana, Ximena, Priya, Aisha, Mei, Yuki, Fatima, Ngozi, Ingrid, Margaret,
  Dorothy, Ruth, Helen, Mildred, Gladys, Renée`);

/** Given names for patients recorded as sex M. */
export const MALE_FIRST_NAMES = list(`
  Liam, Noah, Oliver, Elijah, James, William, Benjamin, Lucas, Henry, Theodore, Jack, Levi, Alexander,
  Jackson, Mateo, Daniel, Michael, Mason, Sebastian, Ethan, Logan, Owen, Samuel, Jacob, Asher, Aiden, John,
  Joseph, Wyatt, David, Leo, Luke, Julian, Gabriel, Grayson, Lincoln, Anthony, Isaac, Dylan, Ezra, Thomas,
  Charles, Christopher, Josiah, Isaiah, Andrew, Elias, Joshua, Nathan, Caleb, Ryan, Adrian, Santiago,
  Hiroshi, Arjun, Kwame, Omar, Dmitri, José, Seamus`);

/** Given names for patients recorded as sex X. */
export const NEUTRAL_FIRST_NAMES = list(`
  Alex, Jordan, Taylor, Morgan, Casey, Jamie, Riley, Quinn, Avery, Rowan, Emerson, Finley, Skyler, Dakota,
  Reese, Hayden, Charlie, Sam, Kendall, Ari`);

/** Surnames, including a few with an apostrophe, a hyphen, a space or a non-ASCII letter. */
export const LAST_NAMES = list(`
  Smith, Johnson, Williams, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, Hernandez, Lopez, Gonzalez,
  Wilson, Anderson, Thomas, Taylor, Moore, Jackson, Martin, Lee, Perez, Thompson, Harris, Sanchez, Clark,
  Ramirez, Lewis, Robinson, Walker, Allen, Wright, Scott, Torres, Nguyen, Flores, Adams, Nelson, Baker,
  Rivera, Campbell, Mitchell, Carter, Roberts, Gomez, Phillips, Evans, Turner, Diaz, Parker, Cruz, Edwards,
  Collins, Reyes, Stewart, Morris, Morales, Murphy, Rogers, Gutierrez, Ortiz, Morgan, Peterson, Bailey,
  Reed, Kelly, Howard, Ramos, Kim, Cox, Richardson, Watson, Brooks, Bennett, Hughes, Ruiz, Patel, Chen,
  Wang, Singh, Okafor, Kowalski, Novak, Johansson, Müller, O'Brien, O'Connor, McAllister, Garcia-Lopez,
  Dubois, Rossi, Yamamoto, Tanaka, Haddad, Mensah, Petrov, Schmidt, Fitzgerald, Van der Berg, Nakamura,
  Ivanova`);
