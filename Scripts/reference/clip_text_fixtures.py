"""CLIP BPE tokenizer and tiny random-weight CLIP text encoders, with transformers' outputs.

Writes under Tests/EncodersTests/Fixtures/:
  clip-text/                 a transformers CLIPTextModelWithProjection folder (projection 32 = the tiny SVD
                             pipeline's image embedding, for end-to-end text concepts; config.json, model.safetensors
                             in fp16, vocab.json, merges.txt, tokenizer_config.json), hidden_act gelu as
                             OpenCLIP ViT-H/14's text tower, eos_token_id = the real end-of-text id
  clip-model/                a transformers CLIPModel folder (text_config + a tiny vision_config, model.safetensors
                             in fp16 with vision weights too) with hidden_act quick_gelu and the legacy
                             eos_token_id 2 (pooling at argmax(input_ids), as the released OpenAI configs)
  clip_tokenizer.safetensors the test texts (metadata "texts", a JSON list) and CLIPTokenizer's ids:
                             `input_ids` [N, 77] (padding="max_length", truncation=True, max_length 77) and
                             `raw_ids` (no special tokens, no truncation; concatenated, `raw_lengths` per text)
  clip_text.safetensors      for both folders: input_ids [N, 77] of the texts and text_embeds [N, P],
                             last_hidden_state [N, 77, H] (model called with input_ids only, as diffusers does)

The vocabulary is real CLIP BPE cut short: the first MERGES merges of OpenAI's bpe_simple_vocab_16e6
(shipped in the open_clip_torch package), with the vocabulary built exactly as CLIP builds it (256 byte
symbols, the same with "</w>", one token per merge, then <|startoftext|> and <|endoftext|>). If open_clip
is not installed, the merges are read back from the committed clip-text/merges.txt, so reruns work offline.
The weights are stored in fp16 (fixture size); the reference runs in float32 on exactly those values.

Run: .venv-reference/bin/python Scripts/reference/clip_text_fixtures.py
"""
import gzip
import importlib.util
import json
import os
import shutil

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

transformers.utils.logging.set_verbosity_error()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "EncodersTests", "Fixtures")
MERGES = 2000
CONTEXT = 77

TEXTS = [
    "a photo of a cat",
    "A Photo Of A CAT!!!",
    "Hello, world... (again); 'quoted' \"double\" [brackets] {braces} #hash @at $100 50% a&b",
    "don't you'll we've they're I'm she'd it's",
    "naïve café résumé façade Ångström",
    "cafe\u0301 (decomposed accent, NFC)",
    "日本語のテキストと中文",
    "emoji 🙂🚀 and symbols ©®™ ½ → ∞",
    "numbers 12345 and 3.14159, 1,000,000",
    "  multiple   spaces\tand\nnewlines\r\n trailing  ",
    "UPPER lower MiXeD CaSe ÀÉÎÕÜ",
    "ΟΔΥΣΣΕΥΣ greek capital sigma",
    "<|startoftext|>special tokens in text<|endoftext|>",
    "<|ENDOFTEXT|> upper-case special token (normalised, then split as text)",
    "İstanbul ǅemal titlecase",
    "hyphen-ated well-known state-of-the-art co-operate",
    "",
    "a",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    " ".join(["a long description of a red bicycle leaning against a wall in the evening light"] * 8),
]


def read_merges():
    spec = importlib.util.find_spec("open_clip")
    if spec is not None:
        path = os.path.join(spec.submodule_search_locations[0], "bpe_simple_vocab_16e6.txt.gz")
        lines = gzip.open(path).read().decode("utf-8").split("\n")
        return [tuple(m.split()) for m in lines[1:1 + MERGES]]
    path = os.path.join(FIXTURES, "clip-text", "merges.txt")
    lines = open(path, encoding="utf-8").read().split("\n")
    return [tuple(m.split()) for m in lines[1:] if m][:MERGES]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_tokenizer_files(folder, merges):
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": CONTEXT, "bos_token": "<|startoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}, f, indent=1)
    return len(vocab)


def randomise(model, seed):
    """Every parameter re-drawn (seeded normal scaled by fan-in; norms around 1) so no layer is trivial."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith("logit_scale"):
                continue
            if p.ndim == 1:
                base = 1.0 if "norm" in name and name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / (p.shape[-1] ** 0.5))


def save_fp16_and_reload(model, folder, cls):
    model.to(torch.float16).save_pretrained(folder, safe_serialization=True)
    # Drop the generation config and any extra files transformers may add; keep config + weights.
    model = cls.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return model


def main():
    torch.set_num_threads(2)
    merges = read_merges()
    assert len(merges) == MERGES, len(merges)
    for name in ("clip-text", "clip-model"):
        shutil.rmtree(os.path.join(FIXTURES, name), ignore_errors=True)
        os.makedirs(os.path.join(FIXTURES, name))

    # 1. Tokenizer
    text_folder = os.path.join(FIXTURES, "clip-text")
    vocab_size = write_tokenizer_files(text_folder, merges)
    tok = CLIPTokenizer.from_pretrained(text_folder)
    assert tok.eos_token_id == vocab_size - 1 and tok.bos_token_id == vocab_size - 2
    enc = tok(TEXTS, padding="max_length", max_length=CONTEXT, truncation=True, return_tensors="pt")
    raw = [tok(t, add_special_tokens=False)["input_ids"] for t in TEXTS]
    assert max(len(r) for r in raw) > CONTEXT, "the long text must be truncated"
    for t, r in zip(TEXTS, raw):
        print(f"  {len(r):4d} tokens  {t[:60]!r}")
    save_file({"input_ids": enc["input_ids"].to(torch.int64),
               "raw_ids": torch.tensor([i for r in raw for i in r], dtype=torch.int64),
               "raw_lengths": torch.tensor([len(r) for r in raw], dtype=torch.int64)},
              os.path.join(FIXTURES, "clip_tokenizer.safetensors"),
              metadata={"texts": json.dumps(TEXTS, ensure_ascii=False), "context": str(CONTEXT),
                        "merges": str(MERGES), "transformers": transformers.__version__})

    # 2. CLIPTextModelWithProjection (gelu, eos_token_id = real id)
    text_config = CLIPTextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, max_position_embeddings=CONTEXT, hidden_act="gelu",
                                 projection_dim=32, layer_norm_eps=1e-5, bos_token_id=vocab_size - 2,
                                 eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)
    torch.manual_seed(0)
    model = CLIPTextModelWithProjection(text_config)
    randomise(model, 1)
    model = save_fp16_and_reload(model, text_folder, CLIPTextModelWithProjection)

    # 3. CLIPModel (quick_gelu, legacy eos_token_id 2) with the same tokenizer files
    model_folder = os.path.join(FIXTURES, "clip-model")
    write_tokenizer_files(model_folder, merges)
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=CONTEXT, hidden_act="quick_gelu",
                         layer_norm_eps=1e-5, bos_token_id=0, eos_token_id=2, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=28, patch_size=14, hidden_act="quick_gelu"),
        projection_dim=16)
    torch.manual_seed(0)
    clip = CLIPModel(config)
    randomise(clip, 2)
    clip = save_fp16_and_reload(clip, model_folder, CLIPModel)
    for folder in (text_folder, model_folder):
        gen = os.path.join(folder, "generation_config.json")
        if os.path.exists(gen):
            os.remove(gen)

    ids = enc["input_ids"]
    with torch.no_grad():
        a = model(input_ids=ids)
        b_text = clip.text_model(input_ids=ids)
        b_embeds = clip.text_projection(b_text.pooler_output)
        assert torch.allclose(b_embeds, clip.get_text_features(input_ids=ids).pooler_output
                              if hasattr(clip.get_text_features(input_ids=ids), "pooler_output")
                              else clip.get_text_features(input_ids=ids), atol=1e-6)
    save_file({"input_ids": ids.to(torch.int64),
               "clip-text.text_embeds": a.text_embeds.contiguous(),
               "clip-text.last_hidden_state": a.last_hidden_state.contiguous(),
               "clip-model.text_embeds": b_embeds.contiguous(),
               "clip-model.last_hidden_state": b_text.last_hidden_state.contiguous()},
              os.path.join(FIXTURES, "clip_text.safetensors"),
              metadata={"note": "models called with input_ids only (no attention mask), float32 from fp16 weights"})

    for dp, _, fns in sorted(os.walk(FIXTURES)):
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            if "clip" in p:
                print(f"  {os.path.relpath(p, FIXTURES):50s} {os.path.getsize(p):>10,d}")


if __name__ == "__main__":
    main()
