// The sandbox processor's test cards and the details that go with them.

export const CARDS = {
  approve: '4242424242424242',
  decline: '4000000000000002',
  threeDS: '4000000000003220',
};

export const ALL_CARD_NUMBERS = Object.values(CARDS);

export const CARD_DETAILS = { expiry: '12/34', cvc: '123', zip: '94107', name: 'Jo Rivera' };

/** Regexp for the receipt's card line, e.g. "Visa •••• 4242". */
export const VISA_4242 = /Visa\b.*4242/;
