import pytest
import torch

from detector.audio import FRAMES_PER_SECOND, N_MELS, WINDOW_S
from detector.decode import FRAME_HEIGHT, FRAME_WIDTH
from detector.model import EmbeddingAudio, EmbeddingImage, IntroNet, ModelDims, sequence_loss, windowed_lstm


def inputs(n_seconds: int, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    mel = torch.randn(batch, N_MELS, (n_seconds + WINDOW_S) * FRAMES_PER_SECOND)
    frames = torch.randint(0, 256, (batch, n_seconds, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=torch.uint8)
    return mel, frames


def test_embedding_audio_gives_500_per_second():
    mel, _ = inputs(17)
    assert EmbeddingAudio(ModelDims())(mel, 17).shape == (2, 17, 500)


def test_embedding_audio_uses_only_kernels_along_time():
    convs = [m for m in EmbeddingAudio(ModelDims()).trunk.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.kernel_size == (1, 3) for c in convs)


def test_embedding_audio_second_sees_its_own_window_only():
    # Changing the sound 8 s after second 3 (outside its +-5 s window) leaves second 3's embedding alone.
    dims = ModelDims()
    net = EmbeddingAudio(dims).eval()
    mel, _ = inputs(30, batch=1)
    changed = mel.clone()
    pad = WINDOW_S // 2
    start = (3 + pad + 8) * FRAMES_PER_SECOND
    changed[..., start : start + FRAMES_PER_SECOND] += 5.0
    with torch.no_grad():
        a, b = net(mel, 30), net(changed, 30)
    assert torch.allclose(a[0, 3], b[0, 3], atol=1e-5)
    assert not torch.allclose(a[0, 3 + 8], b[0, 3 + 8], atol=1e-5)


def test_the_audio_trunk_in_chunks_gives_what_it_gives_in_one_piece():
    net = EmbeddingAudio(ModelDims()).eval()
    mel, _ = inputs(290, batch=1)
    with torch.no_grad():
        whole = net.trunk(mel.unsqueeze(1))
        for chunk_s in (1, 37, 120):
            assert torch.allclose(net.columns(mel, chunk_s=chunk_s), whole, atol=1e-5)


def test_embedding_image_uses_3x3_kernels_and_gives_500():
    net = EmbeddingImage(ModelDims())
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.kernel_size == (3, 3) for c in convs)
    x = torch.rand(5, 3, FRAME_HEIGHT, FRAME_WIDTH) - 0.5
    assert net(x).shape == (5, 500)


def test_intro_net_concatenates_1000_into_an_lstm_of_300():
    net = IntroNet(ModelDims())
    assert net.lstm.input_size == 1000 and net.lstm.hidden_size == 300
    mel, frames = inputs(11)
    logits = net(mel, frames)
    assert logits.shape == (2, 11)


def test_extra_features_widen_the_lstm_input():
    net = IntroNet(ModelDims(n_extra=4))
    assert net.lstm.input_size == 1004
    mel, frames = inputs(9)
    assert net(mel, frames, torch.rand(2, 9, 4)).shape == (2, 9)
    assert net(mel, frames).shape == (2, 9), "a lone episode runs without extra features"


def test_a_windowed_second_is_the_lstm_run_over_its_window_from_the_zero_state():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, batch_first=True)
    x = torch.randn(2, 40, 6)
    with torch.no_grad():
        out = windowed_lstm(lstm, x, context_s=12, lookahead_s=3)
        inside, _ = lstm(x[:, 12:24])  # second 20: 8 before it, 3 after
        edge, _ = lstm(torch.cat([x[:, :1].expand(2, 6, 6), x[:, :6]], dim=1))  # second 2: the first one repeated
    assert out.shape == (2, 40, 5)
    assert torch.allclose(out[:, 20], inside[:, -1], atol=1e-5)
    assert torch.allclose(out[:, 2], edge[:, -1], atol=1e-5)


def test_a_two_sided_window_ends_both_directions_on_its_second():
    # Forwards over the 8 seconds up to second 20, backwards over seconds 23 down to 20: both read last what is at 20.
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 5, batch_first=True, bidirectional=True)
    x = torch.randn(2, 40, 6)
    with torch.no_grad():
        out = windowed_lstm(lstm, x, context_s=12, lookahead_s=3)
        forward, _ = lstm(x[:, 12:21])
        backward, _ = lstm(x[:, 20:24])
        last, _ = lstm(torch.cat([x[:, 38:], x[:, -1:].expand(2, 2, 6)], dim=1))  # second 38: the last one repeated
    assert out.shape == (2, 40, 10)
    assert torch.allclose(out[:, 20, :5], forward[:, -1, :5], atol=1e-5)
    assert torch.allclose(out[:, 20, 5:], backward[:, 0, 5:], atol=1e-5)
    assert torch.allclose(out[:, 38, 5:], last[:, 0, 5:], atol=1e-5)


def test_a_two_sided_network_gives_a_logit_per_second_and_needs_a_window():
    net = IntroNet(ModelDims(context_s=10, lookahead_s=3, two_sided=True)).eval()
    with torch.no_grad():
        assert net.classify(torch.randn(1, 25, 1000)).shape == (1, 25)
    with pytest.raises(ValueError, match="context_s"):
        ModelDims(two_sided=True)


def test_a_windowed_network_scores_content_not_the_second_it_sits_at():
    # What issue 25 found: a whole-episode LSTM counts seconds from its start. Windowed, the same input gives the
    # same score at every second, and moving content moves its scores with it.
    torch.manual_seed(0)
    net = IntroNet(ModelDims(context_s=10, lookahead_s=2)).eval()
    constant = torch.randn(1, 1, 1000).expand(1, 60, 1000)
    story, intro = torch.randn(1, 30, 1000), torch.randn(1, 12, 1000)
    with torch.no_grad():
        flat = net.classify(constant)
        early = net.classify(torch.cat([intro, story], dim=1))
        late = net.classify(torch.cat([story[:, :20], intro, story], dim=1))
    assert torch.allclose(flat, flat[0, 0].expand_as(flat), atol=1e-5)
    # the intro's seconds away from both files' edges, by their distance from its start
    assert torch.allclose(early[0, 8:12], late[0, 28:32], atol=1e-5)


@pytest.mark.parametrize(("context_s", "lookahead_s"), [(0, 3), (5, 5), (-1, 0)])
def test_a_window_must_hold_its_second(context_s: int, lookahead_s: int) -> None:
    with pytest.raises(ValueError, match="lookahead_s"):
        ModelDims(context_s=context_s, lookahead_s=lookahead_s)


def test_loss_is_summed_over_seconds():
    logits = torch.zeros(10)
    labels = torch.ones(10)
    assert torch.isclose(sequence_loss(logits, labels), torch.tensor(10 * 0.6931), atol=1e-3)


def test_a_few_steps_of_adam_reduce_the_loss():
    torch.manual_seed(0)
    net = IntroNet(ModelDims(dropout=0.0))
    mel, frames = inputs(12, batch=1)
    labels = torch.zeros(12)
    labels[2:6] = 1
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = sequence_loss(net(mel, frames)[0], labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.7


def test_the_sound_measure_widens_the_embedding_and_starting_weights_carry_over():
    from detector.training.loop import widened

    torch.manual_seed(0)
    seed = IntroNet(ModelDims(dropout=0.0)).eval()
    with_sound = IntroNet(ModelDims(dropout=0.0, n_sound=1)).eval()
    assert with_sound.lstm.input_size == 1001 and with_sound.embedding_width == 1001
    with_sound.load_state_dict(widened(seed.state_dict(), with_sound))
    mel, frames = inputs(12, batch=1)
    with torch.no_grad():
        embedding = with_sound.embed(mel, frames)
        assert embedding.shape == (1, 12, 1001)
        # zero weights on the new input: the widened network starts where the seed network was
        assert torch.allclose(with_sound.classify(embedding), seed.classify(embedding[..., :1000]), atol=1e-5)
