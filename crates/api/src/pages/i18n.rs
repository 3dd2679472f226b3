//! The customer pages' languages: `en`, `es` (United States Spanish) and `fr-CA`. Every string
//! a customer reads lives in one [`Text`] per locale, so a missing translation is a compile
//! error rather than an English fallback.

use domain::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Es,
    FrCa,
}

impl Locale {
    /// Accepts the tags we store (`en`, `es`, `fr-CA`) and their common spellings.
    pub fn parse(tag: &str) -> Option<Locale> {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        match t.as_str() {
            "en" | "en-us" | "en-ca" => Some(Locale::En),
            "es" | "es-us" | "es-mx" => Some(Locale::Es),
            "fr-ca" | "fr" => Some(Locale::FrCa),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header.
    pub fn from_accept_language(h: &str) -> Option<Locale> {
        h.split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(|tag| Locale::parse(tag).or_else(|| Locale::parse(tag.split('-').next()?)))
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
            Locale::FrCa => "fr-CA",
        }
    }

    pub fn all() -> [Locale; 3] {
        [Locale::En, Locale::Es, Locale::FrCa]
    }

    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::Es => &ES,
            Locale::FrCa => &FR_CA,
        }
    }

    /// US dollars as customers of this locale write them: `$1,234.56` (en, es-US) or
    /// `1 234,56 $` (fr-CA, with narrow no-break spaces).
    pub fn money(self, m: Money) -> String {
        let cents = m.cents();
        let (sign, cents) = if cents < 0 {
            ("-", -cents)
        } else {
            ("", cents)
        };
        let (whole, frac) = (cents / 100, cents % 100);
        let (group, decimal) = match self {
            Locale::En | Locale::Es => (",", "."),
            Locale::FrCa => ("\u{202f}", ","),
        };
        let digits = whole.to_string();
        let mut grouped = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push_str(group);
            }
            grouped.push(ch);
        }
        match self {
            Locale::En | Locale::Es => format!("{sign}${grouped}{decimal}{frac:02}"),
            Locale::FrCa => format!("{sign}{grouped}{decimal}{frac:02}\u{a0}$"),
        }
    }

    /// A date as the locale writes it in full: `November 21, 2026`, `21 de noviembre de 2026`,
    /// `21 novembre 2026`.
    pub fn date(self, millis: i64) -> String {
        let t = utc(millis);
        let month = self.text().months[usize::from(u8::from(t.month())) - 1];
        match self {
            Locale::En => format!("{month} {}, {}", t.day(), t.year()),
            Locale::Es => format!("{} de {month} de {}", t.day(), t.year()),
            Locale::FrCa => format!("{} {month} {}", t.day(), t.year()),
        }
    }

    /// Date and time of day (UTC, labelled): `November 21, 2026, 3:04 PM UTC`.
    pub fn date_time(self, millis: i64) -> String {
        let t = utc(millis);
        let (h, m) = (t.hour(), t.minute());
        let time = match self {
            Locale::En => {
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                format!("{h12}:{m:02} {}", if h < 12 { "AM" } else { "PM" })
            }
            Locale::Es => format!("{h}:{m:02}"),
            Locale::FrCa => format!("{h}\u{a0}h\u{a0}{m:02}"),
        };
        match self {
            Locale::En => format!("{}, {time} UTC", self.date(millis)),
            Locale::Es | Locale::FrCa => format!("{} {time} UTC", self.date(millis)),
        }
    }

    /// A basis-point rate as a percent in this locale: 350 → `3.5%` / `3,5 %`.
    pub fn percent(self, bps: i64) -> String {
        let whole = bps / 100;
        let frac = bps % 100;
        let mut n = if frac == 0 {
            whole.to_string()
        } else if frac % 10 == 0 {
            format!("{whole}.{}", frac / 10)
        } else {
            format!("{whole}.{frac:02}")
        };
        match self {
            Locale::En | Locale::Es => format!("{n}%"),
            Locale::FrCa => {
                n = n.replace('.', ",");
                format!("{n}\u{a0}%")
            }
        }
    }
}

fn utc(millis: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Every string of the customer pages, in one language. `{name}` marks are filled in by the
/// page.
pub struct Text {
    pub months: [&'static str; 12],
    pub language_name: &'static str,
    pub languages_label: &'static str,
    pub pay_title: &'static str,
    pub dealer_contact: &'static str,
    pub repair_order: &'static str,
    pub vehicle: &'static str,
    pub invoice: &'static str,
    pub invoice_total: &'static str,
    pub already_paid: &'static str,
    pub amount_due: &'static str,
    pub surcharge_disclosure: &'static str,
    pub surcharge_debit_note: &'static str,
    pub dual_pricing_disclosure: &'static str,
    pub sales_tax_note: &'static str,
    pub card_details: &'static str,
    pub card_number: &'static str,
    pub card_number_hint: &'static str,
    pub expiry: &'static str,
    pub expiry_hint: &'static str,
    pub cvc: &'static str,
    pub cvc_hint: &'static str,
    pub zip: &'static str,
    pub holder_name: &'static str,
    pub optional: &'static str,
    pub pay_amount: &'static str,
    pub pay_amount_hint: &'static str,
    pub pay_button: &'static str,
    pub pay_button_plain: &'static str,
    pub secure_note: &'static str,
    pub error_summary: &'static str,
    pub err_card_number: &'static str,
    pub err_card_luhn: &'static str,
    pub err_expiry: &'static str,
    pub err_expired: &'static str,
    pub err_cvc: &'static str,
    pub err_zip: &'static str,
    pub err_amount: &'static str,
    pub err_amount_format: &'static str,
    pub err_session: &'static str,
    pub declined_generic: &'static str,
    pub declined_funds: &'static str,
    pub declined_expired: &'static str,
    pub declined_cvc: &'static str,
    pub declined_zip: &'static str,
    pub declined_3ds: &'static str,
    pub processing_error: &'static str,
    pub customer_blocked: &'static str,
    pub in_progress: &'static str,
    pub too_many_attempts: &'static str,
    pub duplicate: &'static str,
    pub processing_title: &'static str,
    pub processing_text: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub expired_title: &'static str,
    pub expired_text: &'static str,
    pub obsolete_title: &'static str,
    pub obsolete_text: &'static str,
    pub paid_title: &'static str,
    pub paid_text: &'static str,
    pub closed_title: &'static str,
    pub closed_text: &'static str,
    pub view_receipt: &'static str,
    pub receipt_title: &'static str,
    pub receipt_thanks: &'static str,
    pub receipt_amount: &'static str,
    pub receipt_subtotal: &'static str,
    pub receipt_surcharge: &'static str,
    pub receipt_card_price: &'static str,
    pub receipt_sales_tax: &'static str,
    pub receipt_card: &'static str,
    pub receipt_auth_code: &'static str,
    pub receipt_date: &'static str,
    pub receipt_reference: &'static str,
    pub receipt_status: &'static str,
    pub receipt_refunded: &'static str,
    pub receipt_pdf: &'static str,
    pub back_to_invoice: &'static str,
    pub checkout_title: &'static str,
    pub checkout_pay_to: &'static str,
    pub checkout_amount: &'static str,
    pub checkout_cancel: &'static str,
    pub checkout_complete: &'static str,
    pub checkout_complete_text: &'static str,
    pub checkout_authorized_text: &'static str,
    pub checkout_canceled: &'static str,
    pub checkout_canceled_text: &'static str,
    pub checkout_failed: &'static str,
    pub checkout_failed_text: &'static str,
    pub checkout_expired: &'static str,
    pub checkout_expired_text: &'static str,
    pub return_to_merchant: &'static str,
    pub rate_limited_title: &'static str,
    pub rate_limited_text: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_text: &'static str,
    pub bad_request_title: &'static str,
    pub bad_request_text: &'static str,
    pub reset_title: &'static str,
    pub reset_intro: &'static str,
    pub reset_new: &'static str,
    pub reset_repeat: &'static str,
    pub reset_submit: &'static str,
    pub reset_too_short: &'static str,
    pub reset_mismatch: &'static str,
    pub reset_done_title: &'static str,
    pub reset_done_text: &'static str,
    pub reset_invalid_title: &'static str,
    pub reset_invalid_text: &'static str,
}

pub static EN: Text = Text {
    months: [
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December",
    ],
    language_name: "English",
    languages_label: "Language",
    pay_title: "Pay your invoice",
    dealer_contact: "Contact",
    repair_order: "Repair order",
    vehicle: "Vehicle",
    invoice: "Invoice",
    invoice_total: "Invoice total",
    already_paid: "Already paid",
    amount_due: "Amount due",
    surcharge_disclosure: "Credit card payments carry a surcharge of up to {percent} of the amount: up to {amount} on this payment, for a total of up to {total}. It is never more than our cost of accepting credit cards; your receipt shows the exact amount.",
    surcharge_debit_note: "Debit cards are not surcharged.",
    dual_pricing_disclosure: "Card price {card} · Cash price {cash}. Paying by card includes a {percent} card service fee.",
    sales_tax_note: "Sales tax is charged on the fee.",
    card_details: "Card details",
    card_number: "Card number",
    card_number_hint: "The 13 to 19 digits on the front of your card.",
    expiry: "Expiry date",
    expiry_hint: "MM/YY",
    cvc: "Security code (CVC)",
    cvc_hint: "3 digits on the back, or 4 on the front for American Express.",
    zip: "Billing ZIP or postal code",
    holder_name: "Name on card",
    optional: "optional",
    pay_amount: "Amount to pay",
    pay_amount_hint: "You can pay part of the amount due, from $1.00 up to {max}.",
    pay_button: "Pay {amount}",
    pay_button_plain: "Pay now",
    secure_note: "Your card number is sent only to the dealership's payment processor and is never stored.",
    error_summary: "There is a problem",
    err_card_number: "Enter the card number, 13 to 19 digits.",
    err_card_luhn: "This card number is not valid. Check the digits.",
    err_expiry: "Enter the expiry date as MM/YY.",
    err_expired: "This card has expired.",
    err_cvc: "Enter the 3 or 4 digit security code.",
    err_zip: "Enter the billing ZIP or postal code.",
    err_amount: "Enter an amount from $1.00 up to the amount due.",
    err_amount_format: "Write the amount like 1,234.56: digits, a period before the cents, at most two decimals.",
    err_session: "This page expired. Please try again.",
    declined_generic: "Your card was declined. Please use a different card or contact your bank.",
    declined_funds: "Your card was declined for insufficient funds. Please use a different card.",
    declined_expired: "Your card has expired. Please use a different card.",
    declined_cvc: "The security code does not match. Check it and try again.",
    declined_zip: "The billing ZIP code does not match your card. Check it and try again.",
    declined_3ds: "Your bank could not verify this payment. Please try again or use a different card.",
    processing_error: "We could not reach the card network. You have not been charged. Please try again.",
    customer_blocked: "The dealer does not accept online payments on this account. You have not been charged. Please contact the dealer to pay another way.",
    in_progress: "A payment for this invoice is already being processed. Please wait a moment and reload this page.",
    too_many_attempts: "Too many attempts failed for this invoice today. Please contact the dealership.",
    duplicate: "A payment of this amount with this card was just made for this invoice. Contact the dealership if you meant to pay again.",
    processing_title: "Confirming your payment",
    processing_text: "Your payment is being confirmed with the card network. This page updates by itself; please do not pay again.",
    not_found_title: "Payment link not found",
    not_found_text: "Check the link in your message, or contact the dealership.",
    expired_title: "This payment link has expired",
    expired_text: "Please ask the dealership to send you a new link.",
    obsolete_title: "This payment link was replaced",
    obsolete_text: "The dealership sent you a newer link for this invoice. Please use the most recent message.",
    paid_title: "This invoice is paid",
    paid_text: "Thank you! Nothing is left to pay on this invoice.",
    closed_title: "This repair order is closed",
    closed_text: "It can no longer be paid online. Please contact the dealership.",
    view_receipt: "Receipt for {amount}, {date}",
    receipt_title: "Payment receipt",
    receipt_thanks: "Thank you for your payment.",
    receipt_amount: "Amount paid",
    receipt_subtotal: "Payment",
    receipt_surcharge: "Credit card surcharge",
    receipt_card_price: "Card service fee",
    receipt_sales_tax: "Sales tax on fee",
    receipt_card: "Card",
    receipt_auth_code: "Authorization code",
    receipt_date: "Date",
    receipt_reference: "Reference",
    receipt_status: "Status",
    receipt_refunded: "Refunded {amount}",
    receipt_pdf: "Download receipt (PDF)",
    back_to_invoice: "Back to the invoice",
    checkout_title: "Checkout",
    checkout_pay_to: "Pay to",
    checkout_amount: "Amount",
    checkout_cancel: "Cancel and return to the merchant",
    checkout_complete: "Payment complete",
    checkout_complete_text: "This payment is complete. Thank you!",
    checkout_authorized_text: "Your card is authorized; the merchant completes the payment.",
    checkout_canceled: "Payment canceled",
    checkout_canceled_text: "This checkout was canceled. You have not been charged.",
    checkout_failed: "Payment failed",
    checkout_failed_text: "Your card was declined and this checkout is closed. You have not been charged. Return to the merchant to try again.",
    checkout_expired: "Checkout expired",
    checkout_expired_text: "This checkout expired before it was paid. Return to the merchant to start again.",
    return_to_merchant: "Return to the merchant",
    rate_limited_title: "Too many requests",
    rate_limited_text: "Please wait a minute and try again.",
    unavailable_title: "Temporarily unavailable",
    unavailable_text: "We could not load this page. Please try again in a moment. You have not been charged twice.",
    bad_request_title: "Something went wrong",
    bad_request_text: "The form could not be read. Please go back and try again.",
    reset_title: "Choose a new password",
    reset_intro: "Enter a new password for your merchant account. It must be at least 12 characters long.",
    reset_new: "New password",
    reset_repeat: "Repeat the new password",
    reset_submit: "Set the new password",
    reset_too_short: "Use 12 to 256 characters.",
    reset_mismatch: "The two passwords are not the same.",
    reset_done_title: "Password changed",
    reset_done_text: "Your password has been changed. Sign in with the new one; sessions opened before the change have ended.",
    reset_invalid_title: "This link no longer works",
    reset_invalid_text: "The link was already used or has expired (links last 30 minutes). Ask for a new one.",
};

pub static ES: Text = Text {
    months: [
        "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
        "octubre", "noviembre", "diciembre",
    ],
    language_name: "Español",
    languages_label: "Idioma",
    pay_title: "Pague su factura",
    dealer_contact: "Contacto",
    repair_order: "Orden de reparación",
    vehicle: "Vehículo",
    invoice: "Factura",
    invoice_total: "Total de la factura",
    already_paid: "Ya pagado",
    amount_due: "Monto a pagar",
    surcharge_disclosure: "Los pagos con tarjeta de crédito tienen un recargo de hasta {percent} del monto: hasta {amount} en este pago, para un total de hasta {total}. Nunca supera nuestro costo de aceptar tarjetas de crédito; su recibo muestra el monto exacto.",
    surcharge_debit_note: "Las tarjetas de débito no tienen recargo.",
    dual_pricing_disclosure: "Precio con tarjeta {card} · Precio en efectivo {cash}. Pagar con tarjeta incluye un cargo por servicio de {percent}.",
    sales_tax_note: "Se cobra impuesto sobre las ventas sobre el cargo.",
    card_details: "Datos de la tarjeta",
    card_number: "Número de tarjeta",
    card_number_hint: "Los 13 a 19 dígitos del frente de su tarjeta.",
    expiry: "Fecha de vencimiento",
    expiry_hint: "MM/AA",
    cvc: "Código de seguridad (CVC)",
    cvc_hint: "3 dígitos al reverso, o 4 al frente en American Express.",
    zip: "Código postal de facturación",
    holder_name: "Nombre en la tarjeta",
    optional: "opcional",
    pay_amount: "Monto a pagar ahora",
    pay_amount_hint: "Puede pagar una parte del monto, desde $1.00 hasta {max}.",
    pay_button: "Pagar {amount}",
    pay_button_plain: "Pagar ahora",
    secure_note: "El número de su tarjeta solo se envía al procesador de pagos del concesionario y nunca se guarda.",
    error_summary: "Hay un problema",
    err_card_number: "Escriba el número de tarjeta, de 13 a 19 dígitos.",
    err_card_luhn: "Este número de tarjeta no es válido. Revise los dígitos.",
    err_expiry: "Escriba la fecha de vencimiento como MM/AA.",
    err_expired: "Esta tarjeta está vencida.",
    err_cvc: "Escriba el código de seguridad de 3 o 4 dígitos.",
    err_zip: "Escriba el código postal de facturación.",
    err_amount: "Escriba un monto desde $1.00 hasta el monto a pagar.",
    err_amount_format: "Escriba el monto así: 1,234.56 (cifras, un punto antes de los centavos, dos decimales como máximo).",
    err_session: "Esta página caducó. Inténtelo de nuevo.",
    declined_generic: "Su tarjeta fue rechazada. Use otra tarjeta o comuníquese con su banco.",
    declined_funds: "Su tarjeta fue rechazada por fondos insuficientes. Use otra tarjeta.",
    declined_expired: "Su tarjeta está vencida. Use otra tarjeta.",
    declined_cvc: "El código de seguridad no coincide. Revíselo e inténtelo de nuevo.",
    declined_zip: "El código postal no coincide con su tarjeta. Revíselo e inténtelo de nuevo.",
    declined_3ds: "Su banco no pudo verificar este pago. Inténtelo de nuevo o use otra tarjeta.",
    processing_error: "No pudimos comunicarnos con la red de tarjetas. No se le cobró. Inténtelo de nuevo.",
    customer_blocked: "El concesionario no acepta pagos en línea en esta cuenta. No se le cobró. Comuníquese con el concesionario para pagar de otra forma.",
    in_progress: "Ya se está procesando un pago para esta factura. Espere un momento y vuelva a cargar la página.",
    too_many_attempts: "Demasiados intentos fallidos para esta factura hoy. Comuníquese con el concesionario.",
    duplicate: "Se acaba de hacer un pago de este monto con esta tarjeta para esta factura. Comuníquese con el concesionario si quiere pagar otra vez.",
    processing_title: "Confirmando su pago",
    processing_text: "Su pago se está confirmando con la red de tarjetas. Esta página se actualiza sola; no vuelva a pagar.",
    not_found_title: "No se encontró el enlace de pago",
    not_found_text: "Revise el enlace de su mensaje o comuníquese con el concesionario.",
    expired_title: "Este enlace de pago venció",
    expired_text: "Pida al concesionario que le envíe un enlace nuevo.",
    obsolete_title: "Este enlace de pago fue reemplazado",
    obsolete_text: "El concesionario le envió un enlace más reciente para esta factura. Use el mensaje más reciente.",
    paid_title: "Esta factura está pagada",
    paid_text: "¡Gracias! No queda nada por pagar en esta factura.",
    closed_title: "Esta orden de reparación está cerrada",
    closed_text: "Ya no se puede pagar en línea. Comuníquese con el concesionario.",
    view_receipt: "Recibo por {amount}, {date}",
    receipt_title: "Recibo de pago",
    receipt_thanks: "Gracias por su pago.",
    receipt_amount: "Monto pagado",
    receipt_subtotal: "Pago",
    receipt_surcharge: "Recargo por tarjeta de crédito",
    receipt_card_price: "Cargo por servicio de tarjeta",
    receipt_sales_tax: "Impuesto sobre el cargo",
    receipt_card: "Tarjeta",
    receipt_auth_code: "Código de autorización",
    receipt_date: "Fecha",
    receipt_reference: "Referencia",
    receipt_status: "Estado",
    receipt_refunded: "Reembolsado {amount}",
    receipt_pdf: "Descargar recibo (PDF)",
    back_to_invoice: "Volver a la factura",
    checkout_title: "Pago",
    checkout_pay_to: "Pagar a",
    checkout_amount: "Monto",
    checkout_cancel: "Cancelar y volver al comercio",
    checkout_complete: "Pago completado",
    checkout_complete_text: "Este pago está completo. ¡Gracias!",
    checkout_authorized_text: "Su tarjeta está autorizada; el comercio completará el pago.",
    checkout_canceled: "Pago cancelado",
    checkout_canceled_text: "Este pago fue cancelado. No se le cobró.",
    checkout_failed: "El pago no se completó",
    checkout_failed_text: "Su tarjeta fue rechazada y este pago se cerró. No se le cobró. Vuelva al comercio para intentarlo de nuevo.",
    checkout_expired: "El pago venció",
    checkout_expired_text: "Este pago venció antes de completarse. Vuelva al comercio para empezar de nuevo.",
    return_to_merchant: "Volver al comercio",
    rate_limited_title: "Demasiadas solicitudes",
    rate_limited_text: "Espere un minuto e inténtelo de nuevo.",
    unavailable_title: "No disponible por el momento",
    unavailable_text: "No pudimos cargar esta página. Inténtelo de nuevo en un momento. No se le cobró dos veces.",
    bad_request_title: "Algo salió mal",
    bad_request_text: "No se pudo leer el formulario. Regrese e inténtelo de nuevo.",
    reset_title: "Elija una contraseña nueva",
    reset_intro: "Escriba una contraseña nueva para su cuenta de comercio. Debe tener al menos 12 caracteres.",
    reset_new: "Contraseña nueva",
    reset_repeat: "Repita la contraseña nueva",
    reset_submit: "Guardar la contraseña nueva",
    reset_too_short: "Use entre 12 y 256 caracteres.",
    reset_mismatch: "Las dos contraseñas no coinciden.",
    reset_done_title: "Contraseña cambiada",
    reset_done_text: "Su contraseña ha cambiado. Inicie sesión con la nueva; las sesiones abiertas antes del cambio se han cerrado.",
    reset_invalid_title: "Este enlace ya no funciona",
    reset_invalid_text: "El enlace ya se usó o ha caducado (los enlaces duran 30 minutos). Solicite uno nuevo.",
};

pub static FR_CA: Text = Text {
    months: [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre",
    ],
    language_name: "Français",
    languages_label: "Langue",
    pay_title: "Payez votre facture",
    dealer_contact: "Coordonnées",
    repair_order: "Bon de réparation",
    vehicle: "Véhicule",
    invoice: "Facture",
    invoice_total: "Total de la facture",
    already_paid: "Déjà payé",
    amount_due: "Montant dû",
    surcharge_disclosure: "Les paiements par carte de crédit comportent des frais d'au plus {percent} du montant : au plus {amount} sur ce paiement, pour un total d'au plus {total}. Ces frais ne dépassent jamais notre coût d'acceptation des cartes de crédit; votre reçu indique le montant exact.",
    surcharge_debit_note: "Aucuns frais sur les cartes de débit.",
    dual_pricing_disclosure: "Prix par carte {card} · Prix comptant {cash}. Le paiement par carte comprend des frais de service de {percent}.",
    sales_tax_note: "La taxe de vente s'applique aux frais.",
    card_details: "Renseignements de la carte",
    card_number: "Numéro de carte",
    card_number_hint: "Les 13 à 19 chiffres au recto de votre carte.",
    expiry: "Date d'expiration",
    expiry_hint: "MM/AA",
    cvc: "Code de sécurité (CVC)",
    cvc_hint: "3 chiffres au verso, ou 4 au recto pour American Express.",
    zip: "Code postal de facturation",
    holder_name: "Nom sur la carte",
    optional: "facultatif",
    pay_amount: "Montant à payer",
    pay_amount_hint: "Vous pouvez payer une partie du montant dû, de 1,00 $ jusqu'à {max}.",
    pay_button: "Payer {amount}",
    pay_button_plain: "Payer maintenant",
    secure_note: "Votre numéro de carte est transmis uniquement au processeur de paiement du concessionnaire et n'est jamais conservé.",
    error_summary: "Il y a un problème",
    err_card_number: "Entrez le numéro de carte, de 13 à 19 chiffres.",
    err_card_luhn: "Ce numéro de carte n'est pas valide. Vérifiez les chiffres.",
    err_expiry: "Entrez la date d'expiration au format MM/AA.",
    err_expired: "Cette carte est expirée.",
    err_cvc: "Entrez le code de sécurité à 3 ou 4 chiffres.",
    err_zip: "Entrez le code postal de facturation.",
    err_amount: "Entrez un montant de 1,00 $ jusqu'au montant dû.",
    err_amount_format: "Écrivez le montant ainsi : 1 234,56 (des chiffres, une virgule avant les cents, deux décimales au plus).",
    err_session: "Cette page a expiré. Veuillez réessayer.",
    declined_generic: "Votre carte a été refusée. Utilisez une autre carte ou communiquez avec votre banque.",
    declined_funds: "Votre carte a été refusée pour fonds insuffisants. Utilisez une autre carte.",
    declined_expired: "Votre carte est expirée. Utilisez une autre carte.",
    declined_cvc: "Le code de sécurité ne correspond pas. Vérifiez-le et réessayez.",
    declined_zip: "Le code postal ne correspond pas à votre carte. Vérifiez-le et réessayez.",
    declined_3ds: "Votre banque n'a pas pu vérifier ce paiement. Réessayez ou utilisez une autre carte.",
    processing_error: "Nous n'avons pas pu joindre le réseau de cartes. Aucun montant n'a été débité. Veuillez réessayer.",
    customer_blocked: "Le concessionnaire n'accepte pas les paiements en ligne pour ce compte. Aucun montant n'a été débité. Communiquez avec le concessionnaire pour payer autrement.",
    in_progress: "Un paiement pour cette facture est déjà en cours. Patientez un instant et rechargez la page.",
    too_many_attempts: "Trop de tentatives ont échoué pour cette facture aujourd'hui. Communiquez avec le concessionnaire.",
    duplicate: "Un paiement de ce montant avec cette carte vient d'être fait pour cette facture. Communiquez avec le concessionnaire si vous vouliez payer de nouveau.",
    processing_title: "Confirmation de votre paiement",
    processing_text: "Votre paiement est en cours de confirmation auprès du réseau de cartes. Cette page se met à jour seule; ne payez pas de nouveau.",
    not_found_title: "Lien de paiement introuvable",
    not_found_text: "Vérifiez le lien dans votre message ou communiquez avec le concessionnaire.",
    expired_title: "Ce lien de paiement a expiré",
    expired_text: "Demandez au concessionnaire de vous envoyer un nouveau lien.",
    obsolete_title: "Ce lien de paiement a été remplacé",
    obsolete_text: "Le concessionnaire vous a envoyé un lien plus récent pour cette facture. Utilisez le message le plus récent.",
    paid_title: "Cette facture est payée",
    paid_text: "Merci! Il ne reste rien à payer sur cette facture.",
    closed_title: "Ce bon de réparation est fermé",
    closed_text: "Il ne peut plus être payé en ligne. Communiquez avec le concessionnaire.",
    view_receipt: "Reçu de {amount}, {date}",
    receipt_title: "Reçu de paiement",
    receipt_thanks: "Merci de votre paiement.",
    receipt_amount: "Montant payé",
    receipt_subtotal: "Paiement",
    receipt_surcharge: "Frais de carte de crédit",
    receipt_card_price: "Frais de service de carte",
    receipt_sales_tax: "Taxe de vente sur les frais",
    receipt_card: "Carte",
    receipt_auth_code: "Code d'autorisation",
    receipt_date: "Date",
    receipt_reference: "Référence",
    receipt_status: "État",
    receipt_refunded: "Remboursé {amount}",
    receipt_pdf: "Télécharger le reçu (PDF)",
    back_to_invoice: "Retour à la facture",
    checkout_title: "Paiement",
    checkout_pay_to: "Payer à",
    checkout_amount: "Montant",
    checkout_cancel: "Annuler et retourner au marchand",
    checkout_complete: "Paiement effectué",
    checkout_complete_text: "Ce paiement est effectué. Merci!",
    checkout_authorized_text: "Votre carte est autorisée; le marchand finalisera le paiement.",
    checkout_canceled: "Paiement annulé",
    checkout_canceled_text: "Ce paiement a été annulé. Aucun montant n'a été débité.",
    checkout_failed: "Paiement refusé",
    checkout_failed_text: "Votre carte a été refusée et ce paiement est fermé. Aucun montant n'a été débité. Retournez chez le marchand pour réessayer.",
    checkout_expired: "Paiement expiré",
    checkout_expired_text: "Ce paiement a expiré avant d'être effectué. Retournez chez le marchand pour recommencer.",
    return_to_merchant: "Retourner au marchand",
    rate_limited_title: "Trop de requêtes",
    rate_limited_text: "Patientez une minute et réessayez.",
    unavailable_title: "Temporairement indisponible",
    unavailable_text: "Nous n'avons pas pu charger cette page. Réessayez dans un instant. Aucun montant n'a été débité deux fois.",
    bad_request_title: "Une erreur s'est produite",
    bad_request_text: "Le formulaire n'a pas pu être lu. Revenez en arrière et réessayez.",
    reset_title: "Choisissez un nouveau mot de passe",
    reset_intro: "Entrez un nouveau mot de passe pour votre compte marchand. Il doit compter au moins 12 caractères.",
    reset_new: "Nouveau mot de passe",
    reset_repeat: "Répétez le nouveau mot de passe",
    reset_submit: "Enregistrer le nouveau mot de passe",
    reset_too_short: "Utilisez de 12 à 256 caractères.",
    reset_mismatch: "Les deux mots de passe ne sont pas identiques.",
    reset_done_title: "Mot de passe modifié",
    reset_done_text: "Votre mot de passe a été modifié. Connectez-vous avec le nouveau; les sessions ouvertes avant le changement ont pris fin.",
    reset_invalid_title: "Ce lien ne fonctionne plus",
    reset_invalid_text: "Le lien a déjà servi ou a expiré (les liens durent 30 minutes). Demandez-en un nouveau.",
};

/// Fills `{name}` marks.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in values {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_per_locale() {
        let m = Money::from_cents(123_456).unwrap();
        assert_eq!(Locale::En.money(m), "$1,234.56");
        assert_eq!(Locale::Es.money(m), "$1,234.56");
        assert_eq!(Locale::FrCa.money(m), "1\u{202f}234,56\u{a0}$");
        assert_eq!(Locale::En.money(Money::from_cents(5).unwrap()), "$0.05");
        assert_eq!(
            Locale::En.money(Money::from_cents(100_000_000).unwrap()),
            "$1,000,000.00"
        );
    }

    #[test]
    fn dates_per_locale() {
        // 2026-11-21T15:04:00Z
        let t = 1_795_273_440_000;
        assert_eq!(Locale::En.date(t), "November 21, 2026");
        assert_eq!(Locale::Es.date(t), "21 de noviembre de 2026");
        assert_eq!(Locale::FrCa.date(t), "21 novembre 2026");
        assert_eq!(Locale::En.date_time(t), "November 21, 2026, 3:04 PM UTC");
        assert_eq!(
            Locale::FrCa.date_time(t),
            "21 novembre 2026 15\u{a0}h\u{a0}04 UTC"
        );
    }

    #[test]
    fn locale_tags() {
        assert_eq!(Locale::parse("fr-ca"), Some(Locale::FrCa));
        assert_eq!(Locale::parse("de"), None);
        assert_eq!(
            Locale::from_accept_language("de-DE,es-MX;q=0.8,en;q=0.5"),
            Some(Locale::Es)
        );
        assert_eq!(Locale::En.percent(350), "3.5%");
        assert_eq!(Locale::FrCa.percent(300), "3\u{a0}%");
    }
}
