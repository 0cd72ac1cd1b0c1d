"Shared by bench/stream_speed.py and bench/streams_speed.py: 640×480 videos panning across labelled photos of mask-scenes-571."
import os, sys, tempfile
from pathlib import Path
from mask_recog.detectors import read_bgr
from mask_recog.detect import scan_scenes, face_box
from mask_recog.track import pan_frames, write_video

FPS = 15.  # frames per second written in the videos

def scene_pans(n_photos:int, # videos, one per photo: photos with one, two and three labelled faces in turn, spread over the set
               frames:int, # frames per video
               prefix:str='pans.' # of the temporary folder holding them
              )->tuple[Path, list]:
    "The temporary folder and `[(video, labels, boxes per frame, photo)]`; exits with a message when $MASK_RECOG_DATA or $MASK_RECOG_MODELS is missing"
    data = os.environ.get('MASK_RECOG_DATA')
    if not data or not (Path(data)/'mask-scenes-571').is_dir(): sys.exit('set MASK_RECOG_DATA to the folder holding mask-scenes-571')
    if not os.environ.get('MASK_RECOG_MODELS'): sys.exit('set MASK_RECOG_MODELS to the folder holding the detector models')
    scenes = Path(data)/'mask-scenes-571'
    by_photo = {}
    for it in scan_scenes(scenes)[0]: by_photo.setdefault(it['path'], []).append(it)
    by_n = {n: [q for q in sorted(by_photo) if len(by_photo[q]) == n] for n in (1, 2, 3)}
    photos = [by_n[i % 3 + 1][i // 3 * 7 % len(by_n[i % 3 + 1])] for i in range(n_photos)]
    tmp, pans = Path(tempfile.mkdtemp(prefix=prefix)), []
    for k, q in enumerate(photos):
        im = read_bgr(scenes/q); h, w = im.shape[:2]
        labels, boxes = zip(*[(it['label'], face_box(it['box'], w, h)) for it in by_photo[q]])
        fr, moved = pan_frames(im, boxes, n=frames)
        pans.append((write_video(fr, tmp/f'pan{k}.mp4', fps=FPS), labels, moved, q))
    return tmp, pans

def remove(tmp:Path):
    "Delete the videos and their folder"
    for q in tmp.iterdir(): q.unlink()
    tmp.rmdir()
