// signature_pad: the handwritten signature of an approval, drawn on a canvas.
import SignaturePad from "signature_pad";

window.SignaturePad = SignaturePad;
