// Text encoders and tokenizers shared by ConceptGuidance and Moderation (being written).
